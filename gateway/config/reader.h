#pragma once
// Internal to config/: a YAML walker that converts values and collects every error with its line
// and key instead of stopping at the first. Each config section lives in its own file.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/cidr.h"

namespace claimgate::config {

constexpr std::int64_t kMaxMillis = 24LL * 3600 * 1000;

inline int line_of(const YAML::Node& node) { return node.Mark().is_null() ? 0 : node.Mark().line + 1; }

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

// providers.cc
// http(s)://host[:port]/path
bool parse_http_url(std::string_view text, keys::HttpUrl& out);
void read_providers(Reader& r, const YAML::Node& node, std::vector<keys::ProviderSpec>& out);
void read_auth(Reader& r, const YAML::Node& root, auth::AuthSettings& out);

// listeners.cc: `listeners`, or `listen` as one plain listener (never both).
void read_listeners(Reader& r, const YAML::Node& root, proxy::Settings& s);

// routes.cc
void read_routes(Reader& r, const YAML::Node& routes, const proxy::Settings& settings,
                 std::vector<policy::RouteSpec>& out);

}  // namespace claimgate::config
