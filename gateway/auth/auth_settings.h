#pragma once
// How the gateway finds tokens and what it tells the upstream about a verified one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace claimgate::auth {

struct TokenSource {
  // WebSocketProtocol: an entry of Sec-WebSocket-Protocol in a WebSocket handshake, as Kubernetes
  // reads one (see token_sources.h); its name and prefix are unused.
  enum class Kind { Header, Cookie, Query, WebSocketProtocol };
  Kind kind = Kind::Header;
  std::string name;    // header name, cookie name or query parameter
  std::string prefix;  // for headers: e.g. "Bearer " (compared case-insensitively); empty = whole value
};

struct ClaimHeader {
  std::string header;      // e.g. X-User-Id
  std::string claim_path;  // dotted path; "roles" and "scopes" mean the provider's normalised lists
};

struct AuthSettings {
  std::vector<TokenSource> token_sources{{TokenSource::Kind::Header, "Authorization", "Bearer "}};
  std::vector<ClaimHeader> claim_headers{{"X-User-Id", "sub"},
                                         {"X-User-Tenant", "tenant_id"},
                                         {"X-User-Workspace", "workspace_id"},
                                         {"X-User-Roles", "roles"},
                                         {"X-User-Scopes", "scopes"}};
  std::string payload_header;        // when set, the whole verified payload, base64url, in this header
  bool strip_token = false;          // remove the token (its header, cookie or query parameter) upstream
  std::size_t token_cache_entries = 10000;  // verified tokens cached per process (0 = no cache)
  std::int64_t startup_timeout_ms = 10000;  // /readyz waits at most this long for first key fetches
};

}  // namespace claimgate::auth
