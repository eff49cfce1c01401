#pragma once
// Route matching: a pure library (std + RE2). Routes are compiled once into an immutable table;
// the first route whose path, method and host match wins.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "policy/requirement.h"

namespace claimgate::policy {

enum class AuthMode { Required, Optional, Anonymous };

std::string_view to_string(AuthMode mode);
std::optional<AuthMode> parse_auth_mode(std::string_view text);

// Exactly one of path, path_prefix, path_glob, path_regex. Paths are matched after
// normalize_path(), so the literal ones must be in normalised form themselves.
struct RouteMatch {
  std::optional<std::string> path;         // exact
  std::optional<std::string> path_prefix;  // segment-aware: /admin matches /admin and /admin/..., never /administrator
  std::optional<std::string> path_glob;    // PathGlob: "*" one segment, "**" any number of segments
  std::optional<std::string> path_regex;   // RE2, full match; its groups are the captures
  std::vector<std::string> methods;        // empty = any; case-sensitive (RFC 9110)
  std::optional<std::string> host;         // compared lower-case, without port or trailing dot
};

// `websocket:` on a route. A WebSocket handshake to it is forwarded as one, and the upstream's 101
// turns the connection into a byte tunnel (frames are not parsed).
struct WebSocketSettings {
  static constexpr std::int64_t kDefaultIdleTimeoutMs = 300000;

  bool enabled = false;
  bool close_at_token_expiry = false;  // the tunnel ends when the gateway would stop accepting its token
  std::int64_t idle_timeout_ms = kDefaultIdleTimeoutMs;  // no byte in either direction for this long ends it
};

struct RouteSpec {
  std::string name;  // defaults to route_<index>
  RouteMatch match;
  std::string upstream;
  AuthMode auth = AuthMode::Required;
  Requirement require;                 // the default allows any valid token
  std::vector<std::string> providers;  // empty = any provider
  bool bypass_cors_preflight = false;  // let OPTIONS preflight requests through without a token
  WebSocketSettings websocket;
};

struct RouteMatchResult {
  const RouteSpec* route = nullptr;
  // Glob and regex routes: [0] is the whole path, then each wildcard's or group's text (an
  // unmatched optional group is ""). Empty for path and path_prefix routes.
  std::vector<std::string> captures;
};

// Why a route did not match a request, for `claimgate explain`. Checked in match()'s order.
enum class RouteMiss { None, Path, Method, Host };

std::string_view to_string(RouteMiss miss);  // "matched", "path", "method", "host"

// One route as explain_match() saw it.
struct RouteTrace {
  const RouteSpec* route = nullptr;
  std::size_t index = 0;             // in table order
  RouteMiss miss = RouteMiss::None;  // None: this route matched
  std::string why_not;               // a sentence naming the request's value and the route's; empty when matched
};

// "Api.Example.com.:8443" -> "api.example.com"; "[::1]:80" -> "[::1]".
std::string normalize_host(std::string_view host);

// Segment-aware prefix test; a prefix ending in '/' is a plain prefix of a directory.
bool matches_path_prefix(std::string_view prefix, std::string_view path);

class RouteTable {
 public:
  RouteTable() = default;  // matches nothing

  // Fails on a route without exactly one path matcher, a literal path not in normalised form,
  // a bad glob or regex, or a path_claims capture the route's matcher does not produce. The
  // error names the route.
  static Result<RouteTable, std::string> compile(std::vector<RouteSpec> routes);

  // `normalized_path` comes from normalize_path(). No match: the caller answers 404.
  std::optional<RouteMatchResult> match(std::string_view method, std::string_view host,
                                        std::string_view normalized_path) const;

  // For `claimgate explain`: every route in table order up to and including the first match
  // (all of them when none matches), each with why it did not match. A linear scan, so it agrees
  // with match(), whose index only skips routes that cannot match.
  std::vector<RouteTrace> explain_match(std::string_view method, std::string_view host,
                                        std::string_view normalized_path) const;

  const std::vector<RouteSpec>& routes() const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace claimgate::policy
