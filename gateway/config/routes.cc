#include <string>

#include "config/reader.h"
#include "http/request_head.h"

namespace claimgate::config {
namespace {

void read_route(Reader& r, const YAML::Node& node, std::size_t index, const proxy::Settings& settings,
                policy::RouteSpec& route) {
  const std::string key = "routes[" + std::to_string(index) + "]";
  route.name = "route_" + std::to_string(index);
  if (!r.check_map(node, key, {"name", "match", "upstream", "auth"})) return;
  if (auto n = node["name"]) r.read_string(n, key + ".name", route.name);

  if (auto m = node["match"]) {
    const std::string mk = key + ".match";
    if (r.check_map(m, mk, {"path", "path_prefix", "methods", "host"})) {
      auto read_path = [&](const char* name, std::optional<std::string>& out) {
        if (auto n = m[name]) {
          std::string p;
          if (r.read_string(n, mk + "." + name, p)) {
            if (!p.starts_with('/')) {
              r.error(n, mk + "." + name, "must start with '/'");
            } else {
              out = std::move(p);
            }
          }
        }
      };
      read_path("path", route.match.path);
      read_path("path_prefix", route.match.path_prefix);
      if (route.match.path && route.match.path_prefix) r.error(m, mk, "set either path or path_prefix, not both");
      if (!m["path"] && !m["path_prefix"]) r.error(m, mk, "needs path or path_prefix");
      if (auto n = m["methods"]) {
        if (r.read_string_list(n, mk + ".methods", route.match.methods)) {
          for (const std::string& method : route.match.methods) {
            if (!http::is_token(method)) r.error(n, mk + ".methods", "\"" + method + "\" is not an HTTP method token");
          }
        }
      }
      if (auto n = m["host"]) {
        std::string h;
        if (r.read_string(n, mk + ".host", h)) route.match.host = std::move(h);
      }
    }
  } else {
    r.error(node, key + ".match", "is required");
  }

  if (auto n = node["upstream"]) {
    if (r.read_string(n, key + ".upstream", route.upstream) && !settings.find_upstream(route.upstream))
      r.error(n, key + ".upstream", "names no entry of upstreams: \"" + route.upstream + "\"");
  } else {
    r.error(node, key + ".upstream", "is required");
  }

  if (auto n = node["auth"]) {
    std::string mode;
    if (r.read_string(n, key + ".auth", mode)) {
      const auto parsed = policy::parse_auth_mode(mode);
      if (!parsed) {
        r.error(n, key + ".auth", "must be one of required, optional, anonymous");
      } else if (*parsed != policy::AuthMode::Anonymous) {
        r.error(n, key + ".auth", "\"" + mode + "\" needs token verification, which this build does not provide yet; use anonymous");
      } else {
        route.auth = *parsed;
      }
    }
  }
}

}  // namespace

void read_routes(Reader& r, const YAML::Node& routes, const proxy::Settings& settings,
                 std::vector<policy::RouteSpec>& out) {
  if (!routes.IsSequence() || routes.size() == 0) {
    r.error(routes, "routes", "must be a non-empty list");
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    policy::RouteSpec route;
    read_route(r, routes[i], i, settings, route);
    if (!names.insert(route.name).second)
      r.error(routes[i], "routes[" + std::to_string(i) + "].name", "duplicate route name \"" + route.name + "\"");
    out.push_back(std::move(route));
  }
}

}  // namespace claimgate::config
