#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/log.h"
#include "http/cidr.h"
#include "http/request_head.h"

namespace claimgate::config {
namespace {

int line_of(const YAML::Node& node) { return node.Mark().is_null() ? 0 : node.Mark().line + 1; }

// Walks the YAML tree, converting values and collecting every error instead of stopping.
class Reader {
 public:
  ConfigErrors errors;

  void error(const YAML::Node& at, std::string key, std::string message) {
    errors.push_back({line_of(at), std::move(key), std::move(message)});
  }

  // Rejects unknown and duplicate keys. Returns false when `map` is not a mapping.
  bool check_map(const YAML::Node& map, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!map.IsMap()) {
      error(map, path, "must be a mapping");
      return false;
    }
    std::set<std::string> seen;
    for (const auto& item : map) {
      const std::string key = item.first.Scalar();
      const std::string full = join(path, key);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(item.first, full, "unknown key" + suggestion(allowed));
      } else if (!seen.insert(key).second) {
        error(item.first, full, "duplicate key");
      }
    }
    return true;
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  bool read_string(const YAML::Node& node, const std::string& key, std::string& out) {
    if (!node.IsScalar()) {
      error(node, key, "must be a string");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  template <class Int>
  bool read_int(const YAML::Node& node, const std::string& key, Int& out, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!node.IsScalar() || text.empty() || ec != std::errc{} || ptr != text.data() + text.size()) {
      error(node, key, "must be an integer");
      return false;
    }
    if (v < min || v > max) {
      error(node, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return false;
    }
    out = static_cast<Int>(v);
    return true;
  }

  bool read_bool(const YAML::Node& node, const std::string& key, bool& out) {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      out = node.Scalar() == "true";
      return true;
    }
    error(node, key, "must be true or false");
    return false;
  }

  bool read_string_list(const YAML::Node& node, const std::string& key, std::vector<std::string>& out) {
    if (!node.IsSequence()) {
      error(node, key, "must be a list of strings");
      return false;
    }
    out.clear();
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string s;
      if (read_string(node[i], key + "[" + std::to_string(i) + "]", s)) out.push_back(std::move(s));
    }
    return true;
  }

  bool read_endpoint(const YAML::Node& node, const std::string& key, proxy::Endpoint& out) {
    std::string text;
    if (!read_string(node, key, text)) return false;
    std::string host;
    std::string port_text;
    if (text.starts_with('[')) {
      const auto close = text.find("]:");
      if (close != std::string::npos) {
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
      }
    } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (host.empty() || !http::parse_ip(host) || port_text.empty() || ec != std::errc{} ||
        ptr != port_text.data() + port_text.size() || port > 65535) {
      error(node, key, "must be IP:PORT (e.g. \"127.0.0.1:8080\" or \"[::1]:8080\"), got \"" + text + "\"");
      return false;
    }
    out = proxy::Endpoint{host, static_cast<std::uint16_t>(port)};
    return true;
  }

 private:
  static std::string suggestion(std::initializer_list<std::string_view> allowed) {
    std::string s = " (expected one of:";
    for (std::string_view a : allowed) {
      s += ' ';
      s += a;
    }
    return s + ")";
  }
};

constexpr std::int64_t kMaxMillis = 24LL * 3600 * 1000;

void read_client(Reader& r, const YAML::Node& node, proxy::Settings& s) {
  if (!r.check_map(node, "client", {"request_header_timeout_ms", "idle_timeout_ms", "max_request_header_bytes",
                                    "max_request_body_bytes", "max_connections"}))
    return;
  if (auto n = node["request_header_timeout_ms"])
    r.read_int(n, "client.request_header_timeout_ms", s.request_header_timeout_ms, 1, kMaxMillis);
  if (auto n = node["idle_timeout_ms"]) r.read_int(n, "client.idle_timeout_ms", s.idle_timeout_ms, 1, kMaxMillis);
  if (auto n = node["max_request_header_bytes"])
    r.read_int(n, "client.max_request_header_bytes", s.max_request_header_bytes, 1024, 16 * 1024 * 1024);
  if (auto n = node["max_request_body_bytes"])
    r.read_int(n, "client.max_request_body_bytes", s.max_request_body_bytes, 0, std::numeric_limits<std::int64_t>::max());
  if (auto n = node["max_connections"]) r.read_int(n, "client.max_connections", s.max_connections, 1, 10'000'000);
}

void read_upstream(Reader& r, const std::string& name, const YAML::Node& node, const std::string& key,
                   proxy::UpstreamSpec& u) {
  u.name = name;
  if (!r.check_map(node, key, {"url", "connect_timeout_ms", "response_timeout_ms", "max_idle_connections", "idle_timeout_ms"}))
    return;
  if (auto n = node["url"]) {
    if (r.read_string(n, key + ".url", u.url)) {
      const std::string_view prefix = "http://";
      std::string_view rest = u.url;
      bool ok = rest.starts_with(prefix);
      rest.remove_prefix(ok ? prefix.size() : 0);
      if (rest.ends_with('/')) rest.remove_suffix(1);
      std::string_view host = rest;
      std::string_view port = "80";
      if (host.starts_with('[')) {
        const auto close = host.find(']');
        ok = ok && close != std::string_view::npos;
        if (ok) {
          const std::string_view after = host.substr(close + 1);
          host = host.substr(1, close - 1);
          if (!after.empty()) {
            ok = after.front() == ':';
            port = after.substr(1);
          }
        }
      } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
      }
      unsigned p = 0;
      const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
      ok = ok && !host.empty() && host.find('/') == std::string_view::npos && ec == std::errc{} &&
           ptr == port.data() + port.size() && p > 0 && p <= 65535;
      if (!ok) {
        r.error(n, key + ".url", "must be http://HOST[:PORT] without a path, got \"" + u.url + "\"");
      } else {
        u.host = std::string(host);
        u.port = static_cast<std::uint16_t>(p);
      }
    }
  } else {
    r.error(node, key + ".url", "is required");
  }
  if (auto n = node["connect_timeout_ms"]) r.read_int(n, key + ".connect_timeout_ms", u.connect_timeout_ms, 1, kMaxMillis);
  if (auto n = node["response_timeout_ms"]) r.read_int(n, key + ".response_timeout_ms", u.response_timeout_ms, 1, kMaxMillis);
  if (auto n = node["max_idle_connections"]) r.read_int(n, key + ".max_idle_connections", u.max_idle_connections, 0, 100000);
  if (auto n = node["idle_timeout_ms"]) r.read_int(n, key + ".idle_timeout_ms", u.idle_timeout_ms, 1, kMaxMillis);
}

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

Config read_config(Reader& r, const YAML::Node& root) {
  Config c;
  if (!r.check_map(root, "", {"listen", "admin", "threads", "client", "trusted_proxies", "drain_timeout_ms",
                               "log_level", "upstreams", "routes"}))
    return c;
  proxy::Settings& s = c.proxy;
  if (auto n = root["listen"]) r.read_endpoint(n, "listen", s.listen);
  if (auto n = root["admin"]) r.read_endpoint(n, "admin", s.admin);
  if (auto n = root["threads"]) r.read_int(n, "threads", s.threads, 0, 256);
  if (auto n = root["client"]) read_client(r, n, s);
  if (auto n = root["drain_timeout_ms"]) r.read_int(n, "drain_timeout_ms", s.drain_timeout_ms, 0, kMaxMillis);
  if (auto n = root["log_level"]) {
    log::Level level{};
    if (r.read_string(n, "log_level", c.log_level) && !log::parse_level(c.log_level, level))
      r.error(n, "log_level", "must be one of debug, info, warn, error");
  }
  if (auto n = root["trusted_proxies"]) {
    std::vector<std::string> cidrs;
    if (r.read_string_list(n, "trusted_proxies", cidrs)) {
      for (const std::string& text : cidrs) {
        if (auto cidr = http::Cidr::parse(text)) {
          s.trusted_proxies.push_back(*cidr);
        } else {
          r.error(n, "trusted_proxies", "\"" + text + "\" is not an IP address or CIDR");
        }
      }
    }
  }
  if (s.listen.host == s.admin.host && s.listen.port == s.admin.port && s.listen.port != 0)
    r.error(root["admin"] ? root["admin"] : root, "admin", "must differ from listen");

  if (auto ups = root["upstreams"]) {
    if (!ups.IsMap() || ups.size() == 0) {
      r.error(ups, "upstreams", "must be a non-empty mapping of name -> { url: ... }");
    } else {
      std::set<std::string> names;
      for (const auto& item : ups) {
        const std::string name = item.first.Scalar();
        if (!names.insert(name).second) {
          r.error(item.first, "upstreams." + name, "duplicate key");
          continue;
        }
        proxy::UpstreamSpec u;
        read_upstream(r, name, item.second, "upstreams." + name, u);
        s.upstreams.push_back(std::move(u));
      }
    }
  } else {
    r.error(root, "upstreams", "is required");
  }

  if (auto routes = root["routes"]) {
    if (!routes.IsSequence() || routes.size() == 0) {
      r.error(routes, "routes", "must be a non-empty list");
    } else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < routes.size(); ++i) {
        policy::RouteSpec route;
        read_route(r, routes[i], i, s, route);
        if (!names.insert(route.name).second)
          r.error(routes[i], "routes[" + std::to_string(i) + "].name", "duplicate route name \"" + route.name + "\"");
        c.routes.push_back(std::move(route));
      }
    }
  } else {
    r.error(root, "routes", "is required");
  }
  return c;
}

}  // namespace

Result<Config, ConfigErrors> load_config_text(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    return fail(ConfigErrors{{e.mark.is_null() ? 0 : e.mark.line + 1, "", "YAML syntax error: " + e.msg}});
  }
  Reader reader;
  Config config;
  try {
    config = read_config(reader, root);
  } catch (const YAML::Exception& e) {
    reader.errors.push_back({e.mark.is_null() ? 0 : e.mark.line + 1, "", e.msg});
  }
  if (!reader.errors.empty()) return fail(std::move(reader.errors));
  return config;
}

Result<Config, ConfigErrors> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ConfigErrors{{0, "", "cannot open the config file"}});
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str());
}

std::string format_errors(std::string_view source, const ConfigErrors& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    out += source;
    if (e.line > 0) out += ":" + std::to_string(e.line);
    out += ": ";
    if (!e.key.empty()) out += e.key + ": ";
    out += e.message;
    out += '\n';
  }
  return out;
}

}  // namespace claimgate::config
