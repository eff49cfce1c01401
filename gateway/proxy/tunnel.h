#pragma once
// How a tunnel ends. A tunnel is a client connection after a 101 to a WebSocket handshake: bytes
// relayed both ways, frames not parsed, until both sides have finished sending or one of these.
#include <string_view>

namespace claimgate::proxy {

enum class TunnelEnd {
  Closed,         // EOF from both sides, each passed on to the other
  ClientError,    // a read from or write to the client failed (reset, TLS error)
  UpstreamError,  // the same on the upstream side
  IdleTimeout,    // no byte either way for the route's websocket.idle_timeout_ms
  TokenExpired,   // close_at_token_expiry: the token that opened it expired
  Drain,          // still open when drain_timeout_ms ran out
};

// The stable name: the metric label and the log field.
constexpr std::string_view to_string(TunnelEnd end) {
  switch (end) {
    case TunnelEnd::Closed: return "closed";
    case TunnelEnd::ClientError: return "client_error";
    case TunnelEnd::UpstreamError: return "upstream_error";
    case TunnelEnd::IdleTimeout: return "idle_timeout";
    case TunnelEnd::TokenExpired: return "token_expired";
    case TunnelEnd::Drain: return "drain";
  }
  return "closed";
}

}  // namespace claimgate::proxy
