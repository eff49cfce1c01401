// RouteTable::explain_match(): the per-route reasons `claimgate explain` prints, and its
// agreement with match().
#include <doctest/doctest.h>

#include "policy/route_table.h"
#include "printers.h"

using namespace claimgate::policy;

namespace {
RouteSpec route(std::string name, RouteMatch m) {
  return RouteSpec{.name = std::move(name), .match = std::move(m), .upstream = "app"};
}

RouteTable sample_table() {
  auto table = RouteTable::compile({route("exact", {.path = "/posts", .methods = {"POST", "PUT"}}),
                                    route("host", {.path_prefix = "/pma/", .host = "API.example.com"}),
                                    route("glob", {.path_glob = "/files/*/raw"}),
                                    route("regex", {.path_regex = "^/tenants/([^/]+)/.*"}),
                                    route("admin", {.path_prefix = "/admin"})});
  REQUIRE_MESSAGE(table.has_value(), table.error());
  return std::move(*table);
}

std::vector<std::string> reasons(const std::vector<RouteTrace>& traces) {
  std::vector<std::string> out;
  for (const RouteTrace& t : traces) out.push_back(t.route->name + ": " + (t.why_not.empty() ? "matched" : t.why_not));
  return out;
}
}  // namespace

TEST_CASE("explain_match names why each route before the match did not match") {
  const RouteTable table = sample_table();

  SUBCASE("path, method and host misses, then the match") {
    const auto traces = table.explain_match("GET", "Other.example.com:443", "/admin/x");
    REQUIRE(traces.size() == 5);
    CHECK(traces[0].miss == RouteMiss::Path);
    CHECK(traces[4].miss == RouteMiss::None);
    CHECK(traces[4].index == 4);
    CHECK(reasons(traces) == std::vector<std::string>{
                                 "exact: path \"/admin/x\" is not \"/posts\"",
                                 "host: path \"/admin/x\" is not under prefix \"/pma/\"",
                                 "glob: path \"/admin/x\" does not match glob \"/files/*/raw\"",
                                 "regex: path \"/admin/x\" does not match regex \"^/tenants/([^/]+)/.*\"",
                                 "admin: matched",
                             });
  }
  SUBCASE("a method outside the list") {
    const auto traces = table.explain_match("GET", "x", "/posts");
    REQUIRE(traces.size() == 5);
    CHECK(traces[0].miss == RouteMiss::Method);
    CHECK(traces[0].why_not == "method \"GET\" is not in [POST, PUT]");
    CHECK(traces[4].miss == RouteMiss::Path);  // nothing matched: every route is listed
  }
  SUBCASE("a host that differs, compared lower-case without port") {
    const auto traces = table.explain_match("GET", "Other.Example.com:8443", "/pma/a");
    REQUIRE(traces.size() >= 2);
    CHECK(traces[1].miss == RouteMiss::Host);
    CHECK(traces[1].why_not == "host \"other.example.com\" is not \"api.example.com\"");
    const auto hit = table.explain_match("GET", "API.EXAMPLE.COM.:443", "/pma/a");
    REQUIRE(hit.size() == 2);
    CHECK(hit.back().miss == RouteMiss::None);
  }
  SUBCASE("an empty table explains nothing") {
    CHECK(RouteTable().explain_match("GET", "x", "/").empty());
  }
  CHECK(to_string(RouteMiss::None) == "matched");
  CHECK(to_string(RouteMiss::Host) == "host");
}

TEST_CASE("explain_match agrees with match()") {
  const RouteTable table = sample_table();
  for (const char* method : {"GET", "POST"}) {
    for (const char* host : {"x", "api.example.com"}) {
      for (const char* path : {"/", "/posts", "/pma/a", "/files/a/raw", "/files/a/b/raw", "/tenants/t1/x",
                               "/admin", "/administrator", "/admin/x"}) {
        CAPTURE(method);
        CAPTURE(host);
        CAPTURE(path);
        const auto matched = table.match(method, host, path);
        const auto traces = table.explain_match(method, host, path);
        const bool explained = !traces.empty() && traces.back().miss == RouteMiss::None;
        REQUIRE(explained == matched.has_value());
        if (matched) CHECK(traces.back().route == matched->route);
      }
    }
  }
}
