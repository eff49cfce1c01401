#pragma once
// Route matching: a pure library (std only; RE2 arrives with regex routes). First match wins.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace claimgate::policy {

enum class AuthMode { Required, Optional, Anonymous };

std::string_view to_string(AuthMode mode);
std::optional<AuthMode> parse_auth_mode(std::string_view text);

struct RouteMatch {
  std::optional<std::string> path;         // exact
  std::optional<std::string> path_prefix;  // segment-aware: /admin matches /admin and /admin/..., never /administrator
  std::vector<std::string> methods;        // empty = any; case-sensitive (RFC 9110)
  std::optional<std::string> host;         // compared lower-case, without port or trailing dot
};

struct RouteSpec {
  std::string name;  // defaults to route_<index>
  RouteMatch match;
  std::string upstream;
  AuthMode auth = AuthMode::Anonymous;
};

// "Api.Example.com.:8443" -> "api.example.com"; "[::1]:80" -> "[::1]".
std::string normalize_host(std::string_view host);

// Segment-aware prefix test; a prefix ending in '/' is a plain prefix of a directory.
bool matches_path_prefix(std::string_view prefix, std::string_view path);

class RouteTable {
 public:
  RouteTable() = default;
  explicit RouteTable(std::vector<RouteSpec> routes);

  // The first route whose method, host and path match, or nullptr (the caller answers 404).
  const RouteSpec* match(std::string_view method, std::string_view host, std::string_view path) const;

  const std::vector<RouteSpec>& routes() const { return routes_; }

 private:
  std::vector<RouteSpec> routes_;
};

}  // namespace claimgate::policy
