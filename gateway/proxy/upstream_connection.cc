#include "proxy/upstream_connection.h"

#include <openssl/ssl.h>

#include "tls/session_cache.h"
#include "tls/upstream_context.h"

namespace claimgate::proxy {

bool UpstreamConnection::start_tls(const tls::UpstreamContext& context, tls::SessionCache& sessions) {
  SSL* ssl = context.new_ssl();
  if (!ssl) return false;
  sessions.attach(ssl);
  tls = std::make_unique<TlsStream>(socket, ssl);  // owns ssl from here
  return true;
}

void UpstreamConnection::shutdown_send(boost::system::error_code& ec) {
  ec = {};
  if (tls) send_close_notify(ec);
  if (!ec) socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

void UpstreamConnection::send_close_notify(boost::system::error_code& ec) {
  // SSL_shutdown sends our close_notify and then reads until the upstream's arrives. With the
  // "received" flag set for the call it only sends; the flag is restored right after, so reads
  // still return the upstream's data. In non-blocking mode the write cannot wait; the mode stays
  // on, since turning it off would also make the descriptor blocking under a pending read.
  SSL* ssl = tls->native_handle();
  if (!SSL_is_init_finished(ssl)) {
    ec = boost::asio::error::not_connected;  // no handshake, nothing to close
    return;
  }
  const int before = SSL_get_shutdown(ssl);
  socket.non_blocking(true, ec);
  if (ec) return;
  SSL_set_shutdown(ssl, before | SSL_RECEIVED_SHUTDOWN);
  tls->shutdown(ec);
  SSL_set_shutdown(ssl, (SSL_get_shutdown(ssl) & ~SSL_RECEIVED_SHUTDOWN) | (before & SSL_RECEIVED_SHUTDOWN));
}

}  // namespace claimgate::proxy
