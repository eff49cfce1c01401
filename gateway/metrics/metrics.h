#pragma once
// Prometheus metrics without a cost on the request path: each worker thread counts into its own
// WorkerMetrics (one uncontended lock per request), and a scrape folds every worker's counts
// into prometheus-cpp metric families, next to the core registry's rare-event counters.
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace claimgate::metrics {

// RFC 9110 methods keep their name; anything else is "other" (bounded label cardinality).
std::string_view method_label(std::string_view method);
// "2xx", "4xx", ...
std::string_view status_class(unsigned status);

class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  5.0};
  void observe(double seconds);
  void add_to(Histogram& total) const;
  void fill(prometheus::ClientMetric& metric) const;

 private:
  std::array<std::uint64_t, kBounds.size() + 1> counts_{};
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

struct RequestRecord {
  std::string_view route;   // "" when no route matched
  std::string_view method;
  unsigned status = 0;
  double duration_s = 0;
  std::optional<double> upstream_duration_s;
  std::string_view auth_outcome;  // allow, anonymous, missing_token, invalid_token, forbidden, ...
  std::string_view auth_reason;   // expired, bad_signature, missing_scope, ...
};

// Per-worker state sampled along with each request.
struct WorkerGauges {
  std::uint64_t cache_hits = 0, cache_misses = 0, cache_evictions = 0;
};

class WorkerMetrics {
 public:
  void record(const RequestRecord& r, const WorkerGauges& gauges);
  void record_connect_error(std::string_view upstream);
  // A TLS listener's handshake with a client: result "full", "resumed" or "failed" (with a stable reason).
  void record_client_tls_handshake(std::string_view result, std::string_view reason);
  // `reason`: a stable name (proxy::to_string(TunnelEnd)).
  void record_tunnel_closed(std::string_view reason);
  // TLS to upstreams: each completed handshake (a resumed session or a full one), and each
  // failure by reason (tls::HandshakeError's names).
  void record_tls_handshake(std::string_view upstream, bool resumed);
  void record_tls_failure(std::string_view upstream, std::string_view reason);

  // Kept current by the worker's upstream connections and pool, read at scrape time.
  std::atomic<std::size_t> upstream_open{0};
  std::atomic<std::size_t> upstream_idle{0};
  // Tunnels after a 101: open now, and the bytes relayed each way (counted as they go).
  std::atomic<std::size_t> tunnels_open{0};
  std::atomic<std::uint64_t> tunnel_bytes_to_upstream{0};
  std::atomic<std::uint64_t> tunnel_bytes_to_client{0};

 private:
  friend class Registry;
  using RequestKey = std::tuple<std::string, std::string, std::string>;  // route, method, class
  using PairKey = std::tuple<std::string, std::string>;
  using AuthKey = PairKey;                                               // outcome, reason

  mutable std::mutex mutex_;
  std::map<RequestKey, std::uint64_t, std::less<>> requests_;
  std::map<std::string, Histogram, std::less<>> durations_;
  std::map<std::string, Histogram, std::less<>> upstream_durations_;
  std::map<AuthKey, std::uint64_t, std::less<>> auth_;
  std::map<std::string, std::uint64_t, std::less<>> connect_errors_;
  std::map<PairKey, std::uint64_t, std::less<>> client_tls_handshakes_;  // result, reason
  std::map<std::string, std::uint64_t, std::less<>> tunnels_closed_;
  std::map<PairKey, std::uint64_t, std::less<>> tls_handshakes_;  // upstream, "resumed" or "full"
  std::map<PairKey, std::uint64_t, std::less<>> tls_failures_;    // upstream, reason
  WorkerGauges gauges_;
};

class Registry {
 public:
  explicit Registry(std::string_view version);

  // Startup only: one per worker thread; the reference stays valid for the Registry's life.
  WorkerMetrics& add_worker();
  // Called at scrape time (e.g. key-set age per provider, active connections).
  void add_collector(std::function<std::vector<prometheus::MetricFamily>()> collector);
  prometheus::Registry& core() { return *core_; }

  prometheus::Counter& config_reload(bool ok) { return ok ? *reload_ok_ : *reload_failed_; }

  // The Prometheus text exposition format.
  std::string scrape() const;

 private:
  std::vector<prometheus::MetricFamily> collect_workers() const;

  std::shared_ptr<prometheus::Registry> core_;
  prometheus::Counter* reload_ok_ = nullptr;
  prometheus::Counter* reload_failed_ = nullptr;
  mutable std::mutex workers_mutex_;
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::vector<std::function<std::vector<prometheus::MetricFamily>()>> collectors_;
};

// Helpers for collectors.
prometheus::MetricFamily gauge_family(std::string name, std::string help);
prometheus::MetricFamily counter_family(std::string name, std::string help);
void add_sample(prometheus::MetricFamily& family, std::vector<prometheus::ClientMetric::Label> labels, double value);

}  // namespace claimgate::metrics
