#pragma once
// YAML -> validated, immutable Config. Every error is collected with its line and key.
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_settings.h"
#include "core/result.h"
#include "keys/provider_spec.h"
#include "policy/path_normalizer.h"
#include "policy/route_table.h"
#include "proxy/settings.h"

namespace claimgate::config {

struct Config {
  proxy::Settings proxy;
  std::vector<policy::RouteSpec> routes;
  policy::PathOptions path_options;
  std::vector<keys::ProviderSpec> providers;
  auth::AuthSettings auth;
  std::string log_level = "info";
  bool watch_config = false;  // reload when the file changes, as on SIGHUP
};

struct ConfigError {
  int line = 0;     // 1-based; 0 when the error is not tied to a line
  std::string key;  // dotted path, e.g. "upstreams.app.connect_timeout_ms" or "routes[2].match"
  std::string message;
};

using ConfigErrors = std::vector<ConfigError>;

Result<Config, ConfigErrors> load_config_text(std::string_view yaml_text);
Result<Config, ConfigErrors> load_config_file(const std::string& path);

// "FILE:LINE: KEY: MESSAGE", one per line.
std::string format_errors(std::string_view source, const ConfigErrors& errors);

}  // namespace claimgate::config
