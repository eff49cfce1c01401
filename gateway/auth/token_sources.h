#pragma once
// Finding the token(s) of a request, per the configured sources (RFC 6750 section 2, RFC 6265).
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth_settings.h"
#include "core/result.h"

namespace claimgate::auth {

using HeaderList = std::span<const std::pair<std::string_view, std::string_view>>;

enum class ExtractionError {
  DuplicateHeader,        // two header lines for a header source (e.g. two Authorization): 400
  ConflictingCookies,     // the token cookie twice with different values: 400
  MalformedCredentials,   // empty token, a comma or space inside it ("Bearer Bearer x"): 401
};

std::string_view to_string(ExtractionError error);
std::string_view describe(ExtractionError error);

struct FoundToken {
  std::string_view token;
  std::size_t source_index;
};

// The Sec-WebSocket-Protocol entry of a websocket_protocol source, after Kubernetes'
// "base64url.bearer.authorization.k8s.io.<token>": this prefix, then the token base64url-encoded
// without padding (a subprotocol is an HTTP token, which '=', '/' and space are not; a client
// written for Kubernetes changes only the prefix). Compared case-sensitively, as subprotocols are.
inline constexpr std::string_view kProtocolTokenPrefix = "base64url.bearer.authorization.claimgate.";

// What find_tokens looks at.
struct TokenRequest {
  HeaderList headers;
  std::string_view query;
  // websocket_protocol sources read only WebSocket handshakes, as Kubernetes does.
  bool websocket_handshake = false;
};

// Every present source, in configured order; the first is "the" token. A header whose prefix
// does not match (Authorization: Basic ...) is not present. Found tokens view the request, or
// `decoded` for a websocket_protocol token (decoded there; at most one such source is allowed).
// `found` is cleared first and keeps its capacity from request to request. Two protocol entries
// are DuplicateHeader, like two Authorization headers.
Result<void, ExtractionError> find_tokens(std::span<const TokenSource> sources, const TokenRequest& request,
                                          std::vector<FoundToken>& found, std::string& decoded);
// The same for a request that is no WebSocket handshake.
Result<std::vector<FoundToken>, ExtractionError> find_tokens(std::span<const TokenSource> sources, HeaderList headers,
                                                             std::string_view query);

// The Cookie header values with one cookie removed (for strip_token); empty when nothing is left.
std::string remove_cookie(std::string_view cookie_header, std::string_view name);

// A Sec-WebSocket-Protocol value without its token entries (the other subprotocols in order);
// empty when nothing is left.
std::string remove_protocol_token(std::string_view protocols);

// The query string with every `name=` parameter removed.
std::string remove_query_parameter(std::string_view query, std::string_view name);

}  // namespace claimgate::auth
