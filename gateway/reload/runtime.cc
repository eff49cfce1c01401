#include "reload/runtime.h"

#include <algorithm>
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

proxy::RuntimeConfigPtr make_runtime_config(const config::Config& c, const keys::KeyManager& key_manager,
                                            const std::vector<std::shared_ptr<tls::ListenerTls>>& listener_tls) {
  auto runtime = std::make_shared<proxy::RuntimeConfig>();
  runtime->listener_tls = listener_tls;
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
      watch_timer_(control), certificate_timer_(control) {
  keys_ = make_keys(nullptr);
  certificate_reloads_ = &prometheus::BuildCounter()
                              .Name("claimgate_tls_certificate_reloads_total")
                              .Help("TLS listener certificate re-reads by listener and result.")
                              .Register(metrics_.core());
  for (const proxy::Listener& l : config_.proxy.listeners) {
    listener_names_.push_back(l.address.host + ":" + std::to_string(l.address.port));
    if (!l.tls) {
      listener_tls_.push_back(nullptr);
      continue;
    }
    auto holder = tls::ListenerTls::create(*l.tls);
    if (!holder) throw std::runtime_error("listener " + listener_names_.back() + ": " + holder.error());
    listener_tls_.push_back(std::move(*holder));
  }
}

Runtime::~Runtime() = default;

proxy::RuntimeConfigPtr Runtime::snapshot() const { return make_runtime_config(config_, *keys_, listener_tls_); }

void Runtime::start(proxy::Server& server) {
  server_ = &server;
  keys_->start();
  if (config_.watch_config && !config_path_.empty()) {
    watched_signature_ = file_signature(config_path_);
    watch();
  }
  if (std::any_of(listener_tls_.begin(), listener_tls_.end(), [](const auto& t) { return t != nullptr; }))
    watch_certificates();
}

void Runtime::stop() {
  keys_->stop();
  watch_timer_.cancel();
  certificate_timer_.cancel();
}

bool Runtime::is_ready() {
  ready_ = ready_ || keys_->is_ready();
  return ready_;
}

void Runtime::reload() {
  if (config_path_.empty()) return reload_certificates(true);
  auto loaded = config::load_config_file(config_path_);
  if (!loaded) {
    metrics_.config_reload(false).Increment();
    log::error("config_reload_failed", {{"file", config_path_},
                                        {"errors", loaded.error().size()},
                                        {"detail", config::format_errors(config_path_, loaded.error())}});
    return reload_certificates(true);
  }
  warn_if_restart_needed(*loaded);
  config::Config next = std::move(*loaded);
  std::swap(config_, next);
  auto previous = std::move(keys_);
  keys_ = make_keys(previous.get());
  try {
    server_->update_config(make_runtime_config(config_, *keys_, listener_tls_));
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
  reload_certificates(true);
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
  auto expiry = metrics::gauge_family("claimgate_tls_certificate_expiry_timestamp_seconds",
                                     "notAfter of each certificate a TLS listener serves (Unix time).");
  for (std::size_t i = 0; i < listener_tls_.size(); ++i) {
    if (!listener_tls_[i]) continue;
    for (const tls::CertificateInfo& c : listener_tls_[i]->current()->certificates())
      metrics::add_sample(expiry, {{"listener", listener_names_[i]}, {"cert_file", c.cert_file}},
                          static_cast<double>(c.not_after_unix_s));
  }
  return {std::move(loaded), std::move(age), std::move(fetches), std::move(expiry)};
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
  const bool same_listeners = std::equal(
      a.listeners.begin(), a.listeners.end(), b.listeners.begin(), b.listeners.end(),
      [](const proxy::Listener& x, const proxy::Listener& y) {
        return x.address.host == y.address.host && x.address.port == y.address.port && x.tls.has_value() == y.tls.has_value();
      });
  // One plain listener on both sides is what `listen` configures: the warning names that key.
  const bool as_listen = a.listeners.size() == 1 && !a.listeners[0].tls && b.listeners.size() == 1 && !b.listeners[0].tls;
  if (!same_listeners) warn(as_listen ? "listen" : "listeners");
  if (a.admin.host != b.admin.host || a.admin.port != b.admin.port) warn("admin");
  if (a.threads != b.threads) warn("threads");
}

void Runtime::reload_certificates(bool force) {
  const auto& listeners = config_.proxy.listeners;
  for (std::size_t i = 0; i < listener_tls_.size(); ++i) {
    if (!listener_tls_[i] || i >= listeners.size() || !listeners[i].tls) continue;
    std::string error;
    const auto result = listener_tls_[i]->reload(*listeners[i].tls, force, error);
    if (result == tls::ListenerTls::Reload::Unchanged) continue;
    const bool ok = result == tls::ListenerTls::Reload::Reloaded;
    certificate_reloads_->Add({{"listener", listener_names_[i]}, {"result", ok ? "success" : "failure"}}).Increment();
    if (ok) {
      log::info("tls_certificates_reloaded", {{"listener", listener_names_[i]}});
    } else {
      log::error("tls_certificate_reload_failed",
                 {{"listener", listener_names_[i]}, {"error", error}, {"detail", "the previous certificates stay in use"}});
    }
  }
}

void Runtime::watch_certificates() {
  certificate_timer_.expires_after(kConfigPollInterval);
  certificate_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    reload_certificates(false);
    watch_certificates();
  });
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
