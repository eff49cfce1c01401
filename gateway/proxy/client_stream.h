#pragma once
// What a client session needs from its byte stream beyond async_read_some / async_write_some:
// the TCP socket underneath (address, options, cancel, close) and a half-close. A TLS stream adds its overloads here and the session's relay
// code stays the same.
#include <boost/asio/ip/tcp.hpp>

#include <utility>

namespace claimgate::proxy {

inline boost::asio::ip::tcp::socket& lowest_socket(boost::asio::ip::tcp::socket& s) { return s; }

inline void shutdown_send(boost::asio::ip::tcp::socket& s, boost::system::error_code& ec) {
  s.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace claimgate::proxy
