#include "policy/route_table.h"

#include <algorithm>

namespace claimgate::policy {

std::string_view to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::Required: return "required";
    case AuthMode::Optional: return "optional";
    case AuthMode::Anonymous: return "anonymous";
  }
  return "required";
}

std::optional<AuthMode> parse_auth_mode(std::string_view text) {
  for (AuthMode m : {AuthMode::Required, AuthMode::Optional, AuthMode::Anonymous}) {
    if (to_string(m) == text) return m;
  }
  return std::nullopt;
}

std::string normalize_host(std::string_view host) {
  std::string_view name = host;
  if (name.starts_with('[')) {
    const auto close = name.find(']');
    name = close == std::string_view::npos ? name : name.substr(0, close + 1);
  } else if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

bool matches_path_prefix(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) {
    // "/admin/" also covers the bare directory "/admin".
    return prefix.size() > 1 && prefix.ends_with('/') && path == prefix.substr(0, prefix.size() - 1);
  }
  return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

RouteTable::RouteTable(std::vector<RouteSpec> routes) : routes_(std::move(routes)) {
  for (RouteSpec& r : routes_) {
    if (r.match.host) r.match.host = normalize_host(*r.match.host);
  }
}

const RouteSpec* RouteTable::match(std::string_view method, std::string_view host, std::string_view path) const {
  std::string normalized_host;
  bool host_normalized = false;
  for (const RouteSpec& r : routes_) {
    const RouteMatch& m = r.match;
    if (!m.methods.empty() && std::find(m.methods.begin(), m.methods.end(), method) == m.methods.end()) continue;
    if (m.path && *m.path != path) continue;
    if (m.path_prefix && !matches_path_prefix(*m.path_prefix, path)) continue;
    if (m.host) {
      if (!host_normalized) {
        normalized_host = normalize_host(host);
        host_normalized = true;
      }
      if (*m.host != normalized_host) continue;
    }
    return &r;
  }
  return nullptr;
}

}  // namespace claimgate::policy
