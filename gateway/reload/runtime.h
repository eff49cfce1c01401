#pragma once
// Everything that a config reload replaces, owned on the control thread: the config, the key
// manager and the proxy's runtime snapshot. Reloads come from SIGHUP (the caller's signal set
// calls reload()) or, with `watch_config: true`, from a change of the file's signature.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "metrics/metrics.h"
#include "proxy/runtime_config.h"
#include "tls/server_context.h"

namespace claimgate::keys {
class KeyManager;
}
namespace claimgate::proxy {
class Server;
}

namespace claimgate::reload {

class Runtime {
 public:
  // `config_path` empty: reload() does nothing and no file is watched (the demo's embedded config).
  Runtime(boost::asio::io_context& control, config::Config initial, std::string config_path,
          metrics::Registry& metrics);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The proxy's view of the current config and keys (throws if the routes do not compile, which
  // load_config has already reported).
  proxy::RuntimeConfigPtr snapshot() const;
  const config::Config& config() const { return config_; }

  // Starts the key manager and the config file watch; reloads go to `server` from then on.
  void start(proxy::Server& server);
  void stop();

  // Ready once every provider has keys or tried (bounded by startup_timeout_ms); it stays
  // ready across reloads, so adding a provider never takes the pod out of service.
  bool is_ready();

  // A bad file keeps the running config, and says so in a log line and a metric.
  void reload();

  // claimgate_keys_loaded, claimgate_key_set_age_seconds, claimgate_jwks_fetches_total.
  std::vector<prometheus::MetricFamily> collect() const;

 private:
  std::unique_ptr<keys::KeyManager> make_keys(const keys::KeyManager* previous) const;
  void warn_if_restart_needed(const config::Config& next) const;
  void watch();
  // TLS listeners re-read their certificate and key files when they changed (or always, `force`).
  void reload_certificates(bool force);
  void watch_certificates();

  boost::asio::io_context& control_;
  config::Config config_;
  std::string config_path_;
  metrics::Registry& metrics_;
  std::unique_ptr<keys::KeyManager> keys_;
  proxy::Server* server_ = nullptr;
  bool ready_ = false;
  boost::asio::steady_timer watch_timer_;
  std::string watched_signature_;
  // Per listener of the first config (listeners need a restart): its TLS context holder or null.
  std::vector<std::shared_ptr<tls::ListenerTls>> listener_tls_;
  std::vector<std::string> listener_names_;  // "address:port", the metric label
  prometheus::Family<prometheus::Counter>* certificate_reloads_ = nullptr;
  boost::asio::steady_timer certificate_timer_;
};

}  // namespace claimgate::reload
