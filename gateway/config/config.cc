#include "config/config.h"
#include "config/reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "core/log.h"
#include "http/cidr.h"
#include "http/request_head.h"
#include "tls/upstream_context.h"

namespace claimgate::config {
namespace {

void read_client(Reader& r, const YAML::Node& node, proxy::Settings& s) {
  if (!r.check_map(node, "client", {"request_header_timeout_ms", "idle_timeout_ms", "max_request_header_bytes",
                                    "max_request_headers", "max_request_body_bytes", "max_connections"}))
    return;
  if (auto n = node["request_header_timeout_ms"])
    r.read_int(n, "client.request_header_timeout_ms", s.request_header_timeout_ms, 1, kMaxMillis);
  if (auto n = node["idle_timeout_ms"]) r.read_int(n, "client.idle_timeout_ms", s.idle_timeout_ms, 1, kMaxMillis);
  if (auto n = node["max_request_header_bytes"])
    r.read_int(n, "client.max_request_header_bytes", s.max_request_header_bytes, 1024, 16 * 1024 * 1024);
  if (auto n = node["max_request_headers"])
    r.read_int(n, "client.max_request_headers", s.max_request_headers, 1, 100'000);
  if (auto n = node["max_request_body_bytes"])
    r.read_int(n, "client.max_request_body_bytes", s.max_request_body_bytes, 0, std::numeric_limits<std::int64_t>::max());
  if (auto n = node["max_connections"]) r.read_int(n, "client.max_connections", s.max_connections, 1, 10'000'000);
}

bool is_server_name(std::string_view name) {
  if (http::parse_ip(name)) return true;
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; });
}

// The TLS keys of an upstream. Its client context is built here, so a file it cannot use is an
// error at the key that names the file. An empty value is the same as no value.
void read_upstream_tls(Reader& r, const YAML::Node& node, const std::string& key, bool https, proxy::UpstreamSpec& u) {
  using Option = tls::ContextError::Option;
  tls::UpstreamTlsOptions options;
  const std::pair<Option, std::string*> keys[] = {{Option::CaFile, &options.ca_file},
                                                  {Option::ServerName, &options.server_name},
                                                  {Option::ClientCertFile, &options.client_cert_file},
                                                  {Option::ClientKeyFile, &options.client_key_file}};
  auto name_of = [](Option o) {
    switch (o) {
      case Option::CaFile: return "ca_file";
      case Option::ServerName: return "server_name";
      case Option::ClientCertFile: return "client_cert_file";
      case Option::ClientKeyFile: return "client_key_file";
    }
    return "ca_file";
  };
  bool ok = true;
  for (const auto& [option, out] : keys) {
    const char* name = name_of(option);
    if (auto n = node[name]) {
      ok = r.read_string(n, key + "." + name, *out) && ok;
      if (!https && !out->empty()) {
        r.error(n, key + "." + name, "applies only to https:// upstreams");
        ok = false;
      }
    }
  }
  if (!https || !ok) return;
  if (options.server_name.empty()) {
    options.server_name = u.host;
  } else if (!is_server_name(options.server_name)) {
    r.error(node["server_name"], key + ".server_name", "must be a DNS name or an IP address, got \"" + options.server_name + "\"");
    return;
  }
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    const char* given = options.client_cert_file.empty() ? "client_key_file" : "client_cert_file";
    const char* missing = options.client_cert_file.empty() ? "client_cert_file" : "client_key_file";
    r.error(node[given], key + "." + given, std::string("needs ") + missing + " as well");
    return;
  }
  auto context = tls::UpstreamContext::create(options);
  if (!context) {
    const char* name = name_of(context.error().option);
    r.error(node[name] ? node[name] : node, key + "." + name, context.error().message);
    return;
  }
  u.tls = std::move(*context);
}

void read_upstream(Reader& r, const std::string& name, const YAML::Node& node, const std::string& key,
                   proxy::UpstreamSpec& u) {
  u.name = name;
  if (!r.check_map(node, key, {"url", "connect_timeout_ms", "response_timeout_ms", "max_idle_connections", "idle_timeout_ms",
                               "ca_file", "server_name", "client_cert_file", "client_key_file"}))
    return;
  bool https = false;
  if (auto n = node["url"]) {
    if (r.read_string(n, key + ".url", u.url)) {
      keys::HttpUrl url;
      if (parse_http_url(u.url, url) && url.target == "/") {
        u.host = url.host;
        u.port = url.port;
        https = url.tls;
      } else {
        r.error(n, key + ".url", "must be http://HOST[:PORT] or https://HOST[:PORT] without a path, got \"" + u.url + "\"");
      }
    }
  } else {
    r.error(node, key + ".url", "is required");
  }
  if (auto n = node["connect_timeout_ms"]) r.read_int(n, key + ".connect_timeout_ms", u.connect_timeout_ms, 1, kMaxMillis);
  if (auto n = node["response_timeout_ms"]) r.read_int(n, key + ".response_timeout_ms", u.response_timeout_ms, 1, kMaxMillis);
  if (auto n = node["max_idle_connections"]) r.read_int(n, key + ".max_idle_connections", u.max_idle_connections, 0, 100000);
  if (auto n = node["idle_timeout_ms"]) r.read_int(n, key + ".idle_timeout_ms", u.idle_timeout_ms, 1, kMaxMillis);
  read_upstream_tls(r, node, key, https, u);
}

void read_cidrs(Reader& r, const YAML::Node& n, const std::string& key, std::vector<http::Cidr>& out) {
  std::vector<std::string> texts;
  if (!r.read_string_list(n, key, texts)) return;
  out.clear();
  for (const std::string& text : texts) {
    if (auto cidr = http::Cidr::parse(text)) {
      out.push_back(*cidr);
    } else {
      r.error(n, key, "\"" + text + "\" is not an IP address or CIDR");
    }
  }
}

void read_forward_auth(Reader& r, const YAML::Node& node, proxy::ForwardAuthSettings& f) {
  if (!r.check_map(node, "forward_auth", {"path", "trusted_sources"})) return;
  if (auto n = node["path"]) {
    if (r.read_string(n, "forward_auth.path", f.path) && !f.path.starts_with('/'))
      r.error(n, "forward_auth.path", "must start with '/'");
  } else {
    r.error(node, "forward_auth.path", "is required");
  }
  if (auto n = node["trusted_sources"]) read_cidrs(r, n, "forward_auth.trusted_sources", f.trusted_sources);
}

// Routes that verify tokens need providers, and may only name providers that exist.
void check_route_providers(Reader& r, const YAML::Node& routes, const Config& c) {
  for (std::size_t i = 0; i < c.routes.size() && i < routes.size(); ++i) {
    const policy::RouteSpec& route = c.routes[i];
    const std::string key = "routes[" + std::to_string(i) + "]";
    if (route.auth != policy::AuthMode::Anonymous && c.providers.empty())
      r.error(routes[i], key + ".auth",
              std::string(policy::to_string(route.auth)) + " needs at least one entry in providers (or use auth: anonymous)");
    for (const std::string& name : route.providers) {
      const bool known = std::any_of(c.providers.begin(), c.providers.end(),
                                     [&](const keys::ProviderSpec& p) { return p.name == name; });
      if (!known) r.error(routes[i], key + ".providers", "names no entry of providers: \"" + name + "\"");
    }
  }
}

Config read_config(Reader& r, const YAML::Node& root) {
  Config c;
  if (!r.check_map(root, "", {"listen", "listeners", "admin", "threads", "client", "trusted_proxies", "drain_timeout_ms",
                               "log_level", "access_log", "metrics", "watch_config", "forward_auth", "upstreams", "routes", "path_normalization", "providers", "token_sources", "claim_headers",
                               "payload_header", "strip_token", "token_cache_entries", "startup_timeout_ms"}))
    return c;
  proxy::Settings& s = c.proxy;
  if (auto n = root["admin"]) r.read_endpoint(n, "admin", s.admin);
  if (auto n = root["threads"]) r.read_int(n, "threads", s.threads, 0, 256);
  if (auto n = root["client"]) read_client(r, n, s);
  if (auto n = root["access_log"]) r.read_bool(n, "access_log", s.access_log);
  if (auto n = root["metrics"]) r.read_bool(n, "metrics", s.metrics);
  if (auto n = root["watch_config"]) r.read_bool(n, "watch_config", c.watch_config);
  if (auto n = root["drain_timeout_ms"]) r.read_int(n, "drain_timeout_ms", s.drain_timeout_ms, 0, kMaxMillis);
  if (auto n = root["log_level"]) {
    log::Level level{};
    if (r.read_string(n, "log_level", c.log_level) && !log::parse_level(c.log_level, level))
      r.error(n, "log_level", "must be one of debug, info, warn, error");
  }
  if (auto n = root["forward_auth"]) read_forward_auth(r, n, s.forward_auth);
  if (auto n = root["trusted_proxies"]) read_cidrs(r, n, "trusted_proxies", s.trusted_proxies);
  if (auto n = root["path_normalization"]) {
    if (r.check_map(n, "path_normalization", {"allow_encoded_slash", "allow_backslash", "allow_path_parameters"})) {
      policy::PathOptions& p = c.path_options;
      if (auto b = n["allow_encoded_slash"]) r.read_bool(b, "path_normalization.allow_encoded_slash", p.allow_encoded_slash);
      if (auto b = n["allow_backslash"]) r.read_bool(b, "path_normalization.allow_backslash", p.allow_backslash);
      if (auto b = n["allow_path_parameters"]) r.read_bool(b, "path_normalization.allow_path_parameters", p.allow_path_parameters);
    }
  }
  read_listeners(r, root, s);
  for (const proxy::Listener& l : s.listeners) {
    if (l.address.host == s.admin.host && l.address.port == s.admin.port && l.address.port != 0)
      r.error(root["admin"] ? root["admin"] : root, "admin", root["listeners"] ? "must differ from every listener" : "must differ from listen");
  }

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

  if (auto n = root["providers"]) read_providers(r, n, c.providers);
  read_auth(r, root, c.auth);

  if (auto routes = root["routes"]) {
    read_routes(r, routes, s, c.routes);
    check_route_providers(r, routes, c);
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
