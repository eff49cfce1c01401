#include "metrics/metrics.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace claimgate::metrics {

namespace pm = prometheus;

std::string_view method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kKnown{"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                          "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view m : kKnown) {
    if (m == method) return m;
  }
  return "other";
}

namespace {
// Counts one more for the pair (a, b); the key's strings are built only the first time.
void count_pair(std::map<std::tuple<std::string, std::string>, std::uint64_t, std::less<>>& counts, std::string_view a,
                std::string_view b) {
  const std::tuple<std::string_view, std::string_view> key{a, b};
  auto it = counts.find(key);
  if (it == counts.end()) it = counts.emplace(std::tuple<std::string, std::string>{a, b}, 0).first;
  ++it->second;
}
}  // namespace

std::string_view status_class(unsigned status) {
  static constexpr std::array<std::string_view, 6> kClasses{"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  const unsigned c = status / 100;
  return c >= 1 && c <= 5 ? kClasses[c] : kClasses[0];
}

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

void Histogram::add_to(Histogram& total) const {
  for (std::size_t i = 0; i < counts_.size(); ++i) total.counts_[i] += counts_[i];
  total.sum_ += sum_;
  total.count_ += count_;
}

void Histogram::fill(pm::ClientMetric& metric) const {
  metric.histogram.sample_count = count_;
  metric.histogram.sample_sum = sum_;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i];
    metric.histogram.bucket.push_back({cumulative, kBounds[i]});
  }
  metric.histogram.bucket.push_back({count_, std::numeric_limits<double>::infinity()});
}

void WorkerMetrics::record(const RequestRecord& r, const WorkerGauges& gauges) {
  const std::string_view route = r.route.empty() ? std::string_view("none") : r.route;
  std::lock_guard lock(mutex_);
  gauges_ = gauges;
  // Heterogeneous lookup: the key's strings are built only the first time a combination is seen.
  const std::tuple<std::string_view, std::string_view, std::string_view> key{route, method_label(r.method),
                                                                              status_class(r.status)};
  auto it = requests_.find(key);
  if (it == requests_.end()) it = requests_.emplace(RequestKey{route, std::get<1>(key), std::get<2>(key)}, 0).first;
  ++it->second;
  auto d = durations_.find(route);
  if (d == durations_.end()) d = durations_.emplace(std::string(route), Histogram{}).first;
  d->second.observe(r.duration_s);
  if (r.upstream_duration_s) {
    auto u = upstream_durations_.find(route);
    if (u == upstream_durations_.end()) u = upstream_durations_.emplace(std::string(route), Histogram{}).first;
    u->second.observe(*r.upstream_duration_s);
  }
  if (!r.auth_outcome.empty()) count_pair(auth_, r.auth_outcome, r.auth_reason);
}

void WorkerMetrics::record_connect_error(std::string_view upstream) {
  std::lock_guard lock(mutex_);
  auto it = connect_errors_.find(upstream);
  if (it == connect_errors_.end()) it = connect_errors_.emplace(std::string(upstream), 0).first;
  ++it->second;
}

void WorkerMetrics::record_client_tls_handshake(std::string_view result, std::string_view reason) {
  std::lock_guard lock(mutex_);
  count_pair(client_tls_handshakes_, result, reason);
}

void WorkerMetrics::record_tunnel_closed(std::string_view reason) {
  std::lock_guard lock(mutex_);
  auto it = tunnels_closed_.find(reason);
  if (it == tunnels_closed_.end()) it = tunnels_closed_.emplace(std::string(reason), 0).first;
  ++it->second;
}

void WorkerMetrics::record_tls_handshake(std::string_view upstream, bool resumed) {
  std::lock_guard lock(mutex_);
  count_pair(tls_handshakes_, upstream, resumed ? "resumed" : "full");
}

void WorkerMetrics::record_tls_failure(std::string_view upstream, std::string_view reason) {
  std::lock_guard lock(mutex_);
  count_pair(tls_failures_, upstream, reason);
}

pm::MetricFamily gauge_family(std::string name, std::string help) {
  return pm::MetricFamily{std::move(name), std::move(help), pm::MetricType::Gauge, {}};
}

pm::MetricFamily counter_family(std::string name, std::string help) {
  return pm::MetricFamily{std::move(name), std::move(help), pm::MetricType::Counter, {}};
}

void add_sample(pm::MetricFamily& family, std::vector<pm::ClientMetric::Label> labels, double value) {
  pm::ClientMetric m;
  m.label = std::move(labels);
  if (family.type == pm::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family.metric.push_back(std::move(m));
}

Registry::Registry(std::string_view version) : core_(std::make_shared<pm::Registry>()) {
  auto& reloads = pm::BuildCounter()
                      .Name("claimgate_config_reloads_total")
                      .Help("Configuration reloads by result.")
                      .Register(*core_);
  reload_ok_ = &reloads.Add({{"result", "success"}});
  reload_failed_ = &reloads.Add({{"result", "failure"}});
  pm::BuildGauge()
      .Name("claimgate_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*core_)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

WorkerMetrics& Registry::add_worker() {
  std::lock_guard lock(workers_mutex_);
  workers_.push_back(std::make_unique<WorkerMetrics>());
  return *workers_.back();
}

void Registry::add_collector(std::function<std::vector<pm::MetricFamily>()> collector) {
  std::lock_guard lock(workers_mutex_);
  collectors_.push_back(std::move(collector));
}

std::vector<pm::MetricFamily> Registry::collect_workers() const {
  std::map<WorkerMetrics::RequestKey, std::uint64_t> requests;
  std::map<std::string, Histogram> durations;
  std::map<std::string, Histogram> upstream_durations;
  std::map<WorkerMetrics::AuthKey, std::uint64_t> auth;
  std::map<std::string, std::uint64_t> connect_errors;
  std::map<WorkerMetrics::PairKey, std::uint64_t> client_tls_handshakes;
  std::map<std::string, std::uint64_t> tunnels_closed;
  std::map<WorkerMetrics::PairKey, std::uint64_t> tls_handshakes;
  std::map<WorkerMetrics::PairKey, std::uint64_t> tls_failures;
  WorkerGauges total;
  std::size_t upstream_open = 0;
  std::size_t upstream_idle = 0;
  std::size_t tunnels_open = 0;
  std::uint64_t tunnel_bytes_to_upstream = 0;
  std::uint64_t tunnel_bytes_to_client = 0;
  {
    std::lock_guard lock(workers_mutex_);
    for (const auto& w : workers_) {
      std::lock_guard worker_lock(w->mutex_);
      for (const auto& [k, v] : w->requests_) requests[k] += v;
      for (const auto& [k, h] : w->durations_) h.add_to(durations[k]);
      for (const auto& [k, h] : w->upstream_durations_) h.add_to(upstream_durations[k]);
      for (const auto& [k, v] : w->auth_) auth[k] += v;
      for (const auto& [k, v] : w->connect_errors_) connect_errors[k] += v;
      for (const auto& [k, v] : w->tls_handshakes_) tls_handshakes[k] += v;
      for (const auto& [k, v] : w->client_tls_handshakes_) client_tls_handshakes[k] += v;
      for (const auto& [k, v] : w->tunnels_closed_) tunnels_closed[k] += v;
      for (const auto& [k, v] : w->tls_failures_) tls_failures[k] += v;
      total.cache_hits += w->gauges_.cache_hits;
      total.cache_misses += w->gauges_.cache_misses;
      total.cache_evictions += w->gauges_.cache_evictions;
      upstream_open += w->upstream_open.load(std::memory_order_relaxed);
      upstream_idle += w->upstream_idle.load(std::memory_order_relaxed);
      tunnels_open += w->tunnels_open.load(std::memory_order_relaxed);
      tunnel_bytes_to_upstream += w->tunnel_bytes_to_upstream.load(std::memory_order_relaxed);
      tunnel_bytes_to_client += w->tunnel_bytes_to_client.load(std::memory_order_relaxed);
    }
  }
  std::vector<pm::MetricFamily> out;
  auto requests_family = counter_family("claimgate_requests_total", "Requests by route, method and status class.");
  for (const auto& [k, v] : requests)
    add_sample(requests_family, {{"route", std::get<0>(k)}, {"method", std::get<1>(k)}, {"status_class", std::get<2>(k)}},
               static_cast<double>(v));
  out.push_back(std::move(requests_family));

  auto histogram_family = [](std::string name, std::string help, const std::map<std::string, Histogram>& by_route) {
    pm::MetricFamily f{std::move(name), std::move(help), pm::MetricType::Histogram, {}};
    for (const auto& [route, h] : by_route) {
      pm::ClientMetric m;
      m.label = {{"route", route}};
      h.fill(m);
      f.metric.push_back(std::move(m));
    }
    return f;
  };
  out.push_back(histogram_family("claimgate_request_duration_seconds",
                                 "Time from the request head to the last response byte.", durations));
  out.push_back(histogram_family("claimgate_upstream_duration_seconds",
                                 "Time from sending the request upstream to its response header.", upstream_durations));

  auto auth_family = counter_family("claimgate_auth_decisions_total", "Authentication and authorisation decisions.");
  for (const auto& [k, v] : auth) add_sample(auth_family, {{"outcome", std::get<0>(k)}, {"reason", std::get<1>(k)}}, static_cast<double>(v));
  out.push_back(std::move(auth_family));

  auto errors_family = counter_family("claimgate_upstream_connect_errors_total", "Failed upstream connects.");
  for (const auto& [k, v] : connect_errors) add_sample(errors_family, {{"upstream", k}}, static_cast<double>(v));
  out.push_back(std::move(errors_family));

  auto tls_family = counter_family("claimgate_tls_handshakes_total",
                                   "Client TLS handshakes by result (full, resumed, failed) and failure reason.");
  for (const auto& [k, v] : client_tls_handshakes)
    add_sample(tls_family, {{"result", std::get<0>(k)}, {"reason", std::get<1>(k)}}, static_cast<double>(v));
  out.push_back(std::move(tls_family));
  auto handshakes_family = counter_family("claimgate_upstream_tls_handshakes_total",
                                          "Completed TLS handshakes with upstreams, by session: resumed or full.");
  for (const auto& [k, v] : tls_handshakes)
    add_sample(handshakes_family, {{"upstream", std::get<0>(k)}, {"session", std::get<1>(k)}}, static_cast<double>(v));
  out.push_back(std::move(handshakes_family));
  auto tls_failures_family = counter_family("claimgate_upstream_tls_failures_total",
                                            "Failed TLS connections to upstreams, by reason.");
  for (const auto& [k, v] : tls_failures)
    add_sample(tls_failures_family, {{"upstream", std::get<0>(k)}, {"reason", std::get<1>(k)}}, static_cast<double>(v));
  out.push_back(std::move(tls_failures_family));

  auto cache_family = counter_family("claimgate_token_cache_total", "Verified-token cache lookups and evictions.");
  add_sample(cache_family, {{"result", "hit"}}, static_cast<double>(total.cache_hits));
  add_sample(cache_family, {{"result", "miss"}}, static_cast<double>(total.cache_misses));
  add_sample(cache_family, {{"result", "eviction"}}, static_cast<double>(total.cache_evictions));
  out.push_back(std::move(cache_family));

  auto pool_family = gauge_family("claimgate_upstream_connections", "Upstream connections by state.");
  add_sample(pool_family, {{"state", "open"}}, static_cast<double>(upstream_open));
  add_sample(pool_family, {{"state", "idle"}}, static_cast<double>(upstream_idle));
  out.push_back(std::move(pool_family));

  auto tunnels_family = gauge_family("claimgate_tunnels_open", "Open tunnels (WebSocket connections after a 101).");
  add_sample(tunnels_family, {}, static_cast<double>(tunnels_open));
  out.push_back(std::move(tunnels_family));
  auto tunnel_bytes_family =
      counter_family("claimgate_tunnel_bytes_total", "Bytes relayed through tunnels, by direction.");
  add_sample(tunnel_bytes_family, {{"direction", "to_upstream"}}, static_cast<double>(tunnel_bytes_to_upstream));
  add_sample(tunnel_bytes_family, {{"direction", "to_client"}}, static_cast<double>(tunnel_bytes_to_client));
  out.push_back(std::move(tunnel_bytes_family));
  auto tunnels_closed_family = counter_family("claimgate_tunnels_closed_total", "Tunnels ended, by reason.");
  for (const auto& [k, v] : tunnels_closed) add_sample(tunnels_closed_family, {{"reason", k}}, static_cast<double>(v));
  out.push_back(std::move(tunnels_closed_family));
  return out;
}

std::string Registry::scrape() const {
  std::vector<pm::MetricFamily> families = core_->Collect();
  for (auto& f : collect_workers()) families.push_back(std::move(f));
  std::vector<std::function<std::vector<pm::MetricFamily>()>> collectors;
  {
    std::lock_guard lock(workers_mutex_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) {
    for (auto& f : c()) families.push_back(std::move(f));
  }
  return pm::TextSerializer().Serialize(families);
}

}  // namespace claimgate::metrics
