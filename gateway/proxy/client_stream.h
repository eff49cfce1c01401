#pragma once
// What a client session needs from its byte stream beyond async_read_some / async_write_some:
// the TCP socket underneath (address, options, cancel, close) and a half-close. The session's
// relay code is the same over a TCP socket and a TLS stream.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <type_traits>
#include <utility>

#include "tls/server_context.h"

namespace claimgate::proxy {

// A client connection on a TLS listener. It keeps the listener context it was accepted with:
// that context's certificate selection runs during the handshake, after a rotation too.
class TlsStream : public boost::asio::ssl::stream<boost::asio::ip::tcp::socket> {
 public:
  TlsStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& asio_context,
            std::shared_ptr<const tls::ServerContext> context)
      : stream(std::move(socket), asio_context), context_(std::move(context)) {}

 private:
  std::shared_ptr<const tls::ServerContext> context_;
};

template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

inline boost::asio::ip::tcp::socket& lowest_socket(boost::asio::ip::tcp::socket& s) { return s; }
inline boost::asio::ip::tcp::socket& lowest_socket(TlsStream& s) { return s.next_layer(); }

inline void shutdown_send(boost::asio::ip::tcp::socket& s, boost::system::error_code& ec) {
  s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}
// A tunnel's half-close over TLS ends the TCP stream without a close_notify: sending one needs
// the TLS stream's read side too, which the tunnel's other direction is using. The peer reads
// the end of the stream (a truncation in TLS terms) after every byte relayed to it.
inline void shutdown_send(TlsStream& s, boost::system::error_code& ec) {
  s.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

// The peer ended its stream: end of file, or over TLS a close without close_notify.
inline bool is_end_of_stream(const boost::system::error_code& ec) {
  return ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
}

}  // namespace claimgate::proxy
