#pragma once
// The one place that decides a request: given the runtime config, a checked request head, the
// client's address and the time, it answers locally, plans the forward, asks to wait for keys, or
// (when allowed) asks to be run again later because a token needs a signature check.
// The proxy session and `claimgate explain` both call it, so they cannot disagree.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/decision.h"
#include "http/local_reply.h"
#include "http/request_head.h"
#include "policy/path_normalizer.h"
#include "policy/route_table.h"
#include "proxy/runtime_config.h"

namespace claimgate::plan {

struct PlanInput {
  const proxy::RuntimeConfig& config;
  const http::RequestHead& head;
  const std::array<std::uint8_t, 16>& client_address;  // IPv6, IPv4 mapped
  std::int64_t now_unix_s = 0;
  bool may_wait = true;  // false on the retry after a key refetch: a request waits at most once
  bool may_verify_later = false;  // see auth::decide
  // The connection's verified client certificate and its RFC 8705 thumbprint, when it has one.
  const policy::ClientCertificate* client_certificate = nullptr;
  std::string_view certificate_thumbprint;
};

struct RequestPlan {
  enum class Action { Reply, Forward, WaitForKeys, VerifyLater };
  Action action = Action::Reply;
  http::LocalReply reply;  // Reply (forward-auth answers included)

  // What is authorised: the request itself, or for forward-auth the original one it describes.
  bool forward_auth = false;
  std::string method;
  std::string host;
  std::string target;
  std::string normalized_path;  // empty until the path was normalised
  std::optional<policy::PathError> path_error;
  policy::RouteMatchResult route{};
  const proxy::UpstreamSpec* upstream = nullptr;
  auth::AuthDecision auth;  // outcome and reason are set once authentication ran

  // Forward: the origin-form target for the upstream (normalised path, URL tokens removed), and
  // the token-carrying headers and cookies strip_token removes.
  std::string upstream_target;
  std::vector<std::string_view> strip_headers;
  std::vector<std::string_view> strip_cookies;
  bool strip_protocol_token = false;  // a websocket_protocol token: its Sec-WebSocket-Protocol entry
  // A WebSocket handshake on a websocket route: forwarded as one, and the upstream's 101 opens a
  // tunnel. Any other request's 101 is a bad response.
  bool upgrade = false;

  std::string_view outcome() const { return auth.outcome; }
  std::string_view reason() const { return auth.reason; }
};

// Fills `out`, reusing its capacity: on a warm path this allocates nothing of its own.
// plan_request = route_request, then (when a route matched) authorize_request.
void plan_request(const PlanInput& input, auth::TokenVerifier& verifier, RequestPlan& out);

// Body limit, forward-auth, path normalisation and the route: Reply, or Forward with `route` set
// (not yet authorised).
void route_request(const PlanInput& input, RequestPlan& out);
// The routed request's credentials and policy: Reply, WaitForKeys, VerifyLater or Forward.
void authorize_request(const PlanInput& input, auth::TokenVerifier& verifier, RequestPlan& out);

}  // namespace claimgate::plan
