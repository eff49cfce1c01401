#include "reload/runtime.h"

#include <chrono>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "core/file_signature.h"
#include "core/log.h"
#include "keys/key_manager.h"
#include "proxy/server.h"

namespace claimgate::reload {

namespace {

constexpr std::chrono::seconds kConfigPollInterval{2};

proxy::RuntimeConfigPtr make_runtime_config(const config::Config& c, const keys::KeyManager& key_manager) {
  auto runtime = std::make_shared<proxy::RuntimeConfig>();
  runtime->settings = c.proxy;
  auto routes = policy::RouteTable::compile(c.routes);
  if (!routes) throw std::runtime_error("routes: " + routes.error());  // load_config reports this first
  runtime->routes = std::move(*routes);
  runtime->path_options = c.path_options;
  runtime->authenticator = std::make_shared<auth::Authenticator>(c.auth, key_manager.providers());
  return runtime;
}

}  // namespace

Runtime::Runtime(boost::asio::io_context& control, config::Config initial, std::string config_path,
                 metrics::Registry& metrics)
    : control_(control), config_(std::move(initial)), config_path_(std::move(config_path)), metrics_(metrics),
      watch_timer_(control) {
  keys_ = make_keys(nullptr);
}

Runtime::~Runtime() = default;

proxy::RuntimeConfigPtr Runtime::snapshot() const { return make_runtime_config(config_, *keys_); }

void Runtime::start(proxy::Server& server) {
  server_ = &server;
  keys_->start();
  if (config_.watch_config && !config_path_.empty()) {
    watched_signature_ = file_signature(config_path_);
    watch();
  }
}

void Runtime::stop() {
  keys_->stop();
  watch_timer_.cancel();
}

bool Runtime::is_ready() {
  ready_ = ready_ || keys_->is_ready();
  return ready_;
}

void Runtime::reload() {
  if (config_path_.empty()) return;
  auto loaded = config::load_config_file(config_path_);
  if (!loaded) {
    metrics_.config_reload(false).Increment();
    log::error("config_reload_failed", {{"file", config_path_},
                                        {"errors", loaded.error().size()},
                                        {"detail", config::format_errors(config_path_, loaded.error())}});
    return;
  }
  warn_if_restart_needed(*loaded);
  config::Config next = std::move(*loaded);
  std::swap(config_, next);
  auto previous = std::move(keys_);
  keys_ = make_keys(previous.get());
  try {
    server_->update_config(make_runtime_config(config_, *keys_));
  } catch (const std::exception& e) {
    metrics_.config_reload(false).Increment();
    log::error("config_reload_failed", {{"file", config_path_}, {"detail", e.what()}});
    std::swap(config_, next);
    keys_ = std::move(previous);
    return;
  }
  previous->stop();
  keys_->start();
  metrics_.config_reload(true).Increment();
  log::info("config_reloaded", {{"file", config_path_}, {"routes", config_.routes.size()},
                                {"providers", config_.providers.size()}});
}

std::vector<prometheus::MetricFamily> Runtime::collect() const {
  auto loaded = metrics::gauge_family("claimgate_keys_loaded", "Keys in each provider's current key set.");
  auto age = metrics::gauge_family("claimgate_key_set_age_seconds", "Seconds since each provider's keys were loaded.");
  auto fetches = metrics::counter_family("claimgate_jwks_fetches_total", "Key fetches and file loads by provider and result.");
  const auto now = std::chrono::system_clock::now();
  for (const auto& p : keys_->providers()) {
    const std::string& name = p->spec().name;
    const auto snapshot = p->snapshot();
    metrics::add_sample(loaded, {{"provider", name}}, snapshot ? static_cast<double>(snapshot->keys.size()) : 0);
    if (snapshot)
      metrics::add_sample(age, {{"provider", name}}, std::chrono::duration<double>(now - snapshot->loaded_at).count());
    metrics::add_sample(fetches, {{"provider", name}, {"result", "success"}}, static_cast<double>(p->successes()));
    metrics::add_sample(fetches, {{"provider", name}, {"result", "failure"}}, static_cast<double>(p->failures()));
  }
  return {std::move(loaded), std::move(age), std::move(fetches)};
}

std::unique_ptr<keys::KeyManager> Runtime::make_keys(const keys::KeyManager* previous) const {
  return std::make_unique<keys::KeyManager>(control_, config_.providers,
                                            std::chrono::milliseconds(config_.auth.startup_timeout_ms), previous);
}

void Runtime::warn_if_restart_needed(const config::Config& next) const {
  const auto& a = config_.proxy;
  const auto& b = next.proxy;
  auto warn = [](std::string_view key) {
    log::warn("config_reload_needs_restart", {{"key", key}, {"detail", "the running value stays until a restart"}});
  };
  if (a.listen.host != b.listen.host || a.listen.port != b.listen.port) warn("listen");
  if (a.admin.host != b.admin.host || a.admin.port != b.admin.port) warn("admin");
  if (a.threads != b.threads) warn("threads");
}

void Runtime::watch() {
  watch_timer_.expires_after(kConfigPollInterval);
  watch_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const std::string signature = file_signature(config_path_);
    if (signature != watched_signature_) {
      watched_signature_ = signature;
      reload();
    }
    watch();
  });
}

}  // namespace claimgate::reload
