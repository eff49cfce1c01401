#include "metrics/metrics.h"

#include <doctest/doctest.h>

#include <string>

namespace metrics = claimgate::metrics;

namespace {
// The sample line of `series` (name and labels as the text format prints them), or "".
std::string line_of(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}
}  // namespace

TEST_CASE("requests are counted under their own route, method, status and auth outcome however they interleave") {
  metrics::Registry registry("test");
  metrics::WorkerMetrics& w = registry.add_worker();
  const std::string api = "api";
  const std::string pub = "public";
  const metrics::RequestRecord a{api, "GET", 200, 0.001, 0.0005, "allow", "allow"};
  const metrics::RequestRecord b{api, "GET", 403, 0.001, std::nullopt, "forbidden", "missing_scope"};
  const metrics::RequestRecord c{pub, "POST", 200, 0.002, 0.001, "anonymous", "anonymous"};
  const metrics::RequestRecord d{"", "BREW", 404, 0.0001, std::nullopt, "", ""};
  for (int i = 0; i < 3; ++i) w.record(a, {});  // the same series again and again
  w.record(b, {});
  w.record(a, {});
  w.record(c, {});
  w.record(c, {});
  w.record(d, {});
  w.record(a, {});
  const std::string text = registry.scrape();
  CAPTURE(text);
  CHECK(line_of(text, R"(claimgate_requests_total{route="api",method="GET",status_class="2xx"})").ends_with(" 5"));
  CHECK(line_of(text, R"(claimgate_requests_total{route="api",method="GET",status_class="4xx"})").ends_with(" 1"));
  CHECK(line_of(text, R"(claimgate_requests_total{route="public",method="POST",status_class="2xx"})").ends_with(" 2"));
  CHECK(line_of(text, R"(claimgate_requests_total{route="none",method="other",status_class="4xx"})").ends_with(" 1"));
  CHECK(line_of(text, R"(claimgate_request_duration_seconds_count{route="api"})").ends_with(" 6"));
  CHECK(line_of(text, R"(claimgate_upstream_duration_seconds_count{route="api"})").ends_with(" 5"));
  CHECK(line_of(text, R"(claimgate_upstream_duration_seconds_count{route="public"})").ends_with(" 2"));
  CHECK(line_of(text, R"(claimgate_auth_decisions_total{outcome="allow",reason="allow"})").ends_with(" 5"));
  CHECK(line_of(text, R"(claimgate_auth_decisions_total{outcome="forbidden",reason="missing_scope"})").ends_with(" 1"));
  CHECK(line_of(text, R"(claimgate_auth_decisions_total{outcome="anonymous",reason="anonymous"})").ends_with(" 2"));
}

TEST_CASE("tunnels: open gauge, bytes each way and ends by reason, summed over workers") {
  metrics::Registry registry("test");
  metrics::WorkerMetrics& a = registry.add_worker();
  metrics::WorkerMetrics& b = registry.add_worker();
  a.tunnels_open = 2;
  b.tunnels_open = 1;
  a.tunnel_bytes_to_upstream += 100;
  b.tunnel_bytes_to_upstream += 5;
  a.tunnel_bytes_to_client += 7;
  a.record_tunnel_closed("closed");
  b.record_tunnel_closed("closed");
  b.record_tunnel_closed("idle_timeout");
  const std::string text = registry.scrape();
  CAPTURE(text);
  CHECK(line_of(text, "claimgate_tunnels_open").ends_with(" 3"));
  CHECK(line_of(text, R"(claimgate_tunnel_bytes_total{direction="to_upstream"})").ends_with(" 105"));
  CHECK(line_of(text, R"(claimgate_tunnel_bytes_total{direction="to_client"})").ends_with(" 7"));
  CHECK(line_of(text, R"(claimgate_tunnels_closed_total{reason="closed"})").ends_with(" 2"));
  CHECK(line_of(text, R"(claimgate_tunnels_closed_total{reason="idle_timeout"})").ends_with(" 1"));
}

TEST_CASE("upstream TLS handshakes and failures are counted per upstream across workers") {
  metrics::Registry registry("test");
  metrics::WorkerMetrics& a = registry.add_worker();
  metrics::WorkerMetrics& b = registry.add_worker();
  a.record_tls_handshake("app", false);
  a.record_tls_handshake("app", true);
  b.record_tls_handshake("app", true);
  b.record_tls_failure("app", "certificate_expired");
  b.record_tls_failure("billing", "name_mismatch");
  const std::string text = registry.scrape();
  CHECK(line_of(text, "claimgate_upstream_tls_handshakes_total{upstream=\"app\",session=\"full\"}").ends_with(" 1"));
  CHECK(line_of(text, "claimgate_upstream_tls_handshakes_total{upstream=\"app\",session=\"resumed\"}").ends_with(" 2"));
  CHECK(line_of(text, "claimgate_upstream_tls_failures_total{upstream=\"app\",reason=\"certificate_expired\"}").ends_with(" 1"));
  CHECK(line_of(text, "claimgate_upstream_tls_failures_total{upstream=\"billing\",reason=\"name_mismatch\"}").ends_with(" 1"));
}
