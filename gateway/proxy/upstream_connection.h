#pragma once
// One connection to an upstream: TCP, or TLS over it for https:// upstreams. Every upstream read
// and write goes through async_read_some / async_write, so a plain connection pays one branch on
// the null `tls` and nothing else. `socket` is the TCP layer either way: connect, options,
// cancel, close and the pool's peek act on it.
//
// A TLS connection must not be destroyed while any of its operations is pending: Asio's SSL
// operations touch the stream when they complete, even when cancelled. Cancel them
// (socket.cancel()) and destroy it once every handler has run. A session has at most one
// operation pending and destroys the connection in that operation's handler; the pool keeps a
// retired connection until its watch has completed.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

namespace claimgate::tls {
class UpstreamContext;
class SessionCache;
}  // namespace claimgate::tls

namespace claimgate::proxy {

struct UpstreamConnection {
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

  // `open` counts this worker's live upstream connections (for metrics).
  UpstreamConnection(boost::asio::io_context& ioc, std::atomic<std::size_t>& open) : socket(ioc), open_count(open) {
    open_count.fetch_add(1, std::memory_order_relaxed);
  }
  // A TLS connection sends its close_notify (if the socket takes it at once) before the socket
  // closes: OpenSSL would otherwise mark the connection's session as not resumable.
  ~UpstreamConnection() {
    if (tls) {
      boost::system::error_code ignored;
      send_close_notify(ignored);
    }
    open_count.fetch_sub(1, std::memory_order_relaxed);
  }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Puts a client TLS stream over the connected socket, offering the session `sessions` keeps
  // and keeping the ones this connection gets; async_handshake on `tls` follows. False when
  // OpenSSL could not make the SSL object.
  bool start_tls(const tls::UpstreamContext& context, tls::SessionCache& sessions);

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls) {
      tls->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      socket.async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  // All of `buffers`, as boost::asio::async_write.
  template <class Buffers, class Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    if (tls) {
      boost::asio::async_write(*tls, buffers, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(socket, buffers, std::forward<Handler>(handler));
    }
  }

  // Half-close: no more bytes go to the upstream, reading goes on. Over TLS, a close_notify goes
  // first, written at once without waiting for the upstream's (sets `ec`, with the socket left
  // open, when the socket cannot take it now); then the TCP FIN. A TLS read then ends with
  // boost::asio::error::eof at the upstream's close_notify, or with
  // boost::asio::ssl::error::stream_truncated when the upstream closes TCP without one.
  void shutdown_send(boost::system::error_code& ec);

  // TLS only: writes our close_notify now, without waiting for the socket or for the upstream's.
  void send_close_notify(boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket;
  std::unique_ptr<TlsStream> tls;  // null for http:// upstreams
  std::chrono::steady_clock::time_point idle_since;
  std::uint64_t idle_generation = 0;
  bool reused = false;
  bool watched = false;  // a one-byte read into idle_probe is pending
  char idle_probe = 0;
  std::atomic<std::size_t>& open_count;
};

}  // namespace claimgate::proxy
