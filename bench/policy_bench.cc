// policy_bench: RouteTable::match over 1,000 mixed routes (exact, prefix, glob, regex; some with
// methods or host), for the first, a middle and the last route and for no match; and
// normalize_path. Three tables: every route under its own first segment; every route under one
// shared first segment (the table indexes leading literal segments, so both stay short); and the
// worst case, 1,000 regexes without a literal prefix, which are tried one by one. Also evaluate()
// with and without a trace.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "policy/path_normalizer.h"
#include "policy/route_table.h"

namespace {

using claimgate::policy::RouteMatch;
using claimgate::policy::RouteSpec;
using claimgate::policy::RouteTable;

constexpr int kRoutes = 1000;
constexpr const char* kUnanchored = "/x";

// Route i and a request path it matches; `base` is "" (own first segment) or "/api" (shared).
RouteMatch route_match(const std::string& base, int i) {
  const std::string root = base + "/svc" + std::to_string(i);
  if (base == kUnanchored) return {.path_regex = "/[a-z]+/svc" + std::to_string(i) + "/users/([0-9]+)/.*"};
  switch (i % 4) {
    case 0: return {.path = root + "/items", .methods = {"GET", "HEAD"}};
    case 1: return {.path_prefix = root + "/api", .host = "api.example.com"};
    case 2: return {.path_glob = root + "/*/items/**"};
    default: return {.path_regex = root + "/users/([0-9]+)/.*"};
  }
}

std::string request_path(const std::string& base, int i) {
  const std::string root = base + "/svc" + std::to_string(i);
  if (base == kUnanchored) return root + "/users/42/profile";
  switch (i % 4) {
    case 0: return root + "/items";
    case 1: return root + "/api/x";
    case 2: return root + "/a/items/b/c";
    default: return root + "/users/42/profile";
  }
}

const RouteTable& table(const std::string& base) {
  static std::vector<std::pair<std::string, RouteTable>> tables;
  for (const auto& [b, t] : tables) {
    if (b == base) return t;
  }
  std::vector<RouteSpec> routes;
  for (int i = 0; i < kRoutes; ++i) routes.push_back({.name = "r" + std::to_string(i), .match = route_match(base, i), .upstream = "app"});
  auto compiled = RouteTable::compile(std::move(routes));
  if (!compiled) throw std::runtime_error(compiled.error());
  return tables.emplace_back(base, std::move(*compiled)).second;
}

void bm_match(benchmark::State& state, const std::string& base, int route) {
  const RouteTable& t = table(base);
  const std::string path = route < 0 ? base + "/nothing/here" : request_path(base, route);
  const auto probe = t.match("GET", "api.example.com", path);
  if (route >= 0 && (!probe || probe->route->name != "r" + std::to_string(route))) {
    state.SkipWithError("the request does not reach its route");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(t.match("GET", "api.example.com", path));
}

// The USSO token against (admin) or (editor, own tenant, write:posts), which passes on its second branch.
void bm_evaluate(benchmark::State& state, claimgate::policy::TraceMode mode) {
  using claimgate::ClaimValue;
  using claimgate::policy::Requirement;
  const claimgate::Claims claims{{"sub", "user:alice123"}, {"tenant_id", "org_a"}, {"roles", ClaimValue::Array{"editor"}},
                                 {"scopes", ClaimValue::Array{"read:users", "write:posts"}}};
  const std::vector<std::string> roles{"editor"};
  const std::vector<std::string> scopes{"read:users", "write:posts"};
  const std::vector<std::string> captures{"/tenants/org_a/posts", "org_a"};
  const Requirement requirement = Requirement::any(
      {Requirement::roles_any({"admin"}),
       Requirement::all({Requirement::roles_all({"editor"}), Requirement::path_claim("tenant_id", 1),
                         Requirement::claim_is("sub", claimgate::policy::ClaimCondition::equals("user:alice123")),
                         Requirement::scopes_all({"write:posts"})})});
  const claimgate::policy::Subject subject{claims, roles, scopes};
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(requirement, subject, captures, mode));
}

void bm_normalize(benchmark::State& state, const std::string& path) {
  const claimgate::policy::PathOptions options;
  for (auto _ : state) benchmark::DoNotOptimize(claimgate::policy::normalize_path(path, options));
}

}  // namespace

BENCHMARK_CAPTURE(bm_match, own_segment_first, std::string(), 0);
BENCHMARK_CAPTURE(bm_match, own_segment_middle, std::string(), 501);
BENCHMARK_CAPTURE(bm_match, own_segment_last, std::string(), kRoutes - 1);
BENCHMARK_CAPTURE(bm_match, own_segment_no_match, std::string(), -1);
BENCHMARK_CAPTURE(bm_match, shared_segment_first, std::string("/api"), 0);
BENCHMARK_CAPTURE(bm_match, shared_segment_middle, std::string("/api"), 501);
BENCHMARK_CAPTURE(bm_match, shared_segment_last, std::string("/api"), kRoutes - 1);
BENCHMARK_CAPTURE(bm_match, shared_segment_no_match, std::string("/api"), -1);
BENCHMARK_CAPTURE(bm_match, unanchored_regex_first, std::string(kUnanchored), 0);
BENCHMARK_CAPTURE(bm_match, unanchored_regex_middle, std::string(kUnanchored), 501);
BENCHMARK_CAPTURE(bm_match, unanchored_regex_last, std::string(kUnanchored), kRoutes - 1);
BENCHMARK_CAPTURE(bm_match, unanchored_regex_no_match, std::string(kUnanchored), -1);
BENCHMARK_CAPTURE(bm_evaluate, trace_off, claimgate::policy::TraceMode::Off);
BENCHMARK_CAPTURE(bm_evaluate, trace_on, claimgate::policy::TraceMode::On);
BENCHMARK_CAPTURE(bm_normalize, plain, std::string("/api/v1/users/12345/posts"));
BENCHMARK_CAPTURE(bm_normalize, tricky, std::string("/public/%2e%2e/%61dmin//x/./y%7e%3a"));

BENCHMARK_MAIN();
