#include <doctest/doctest.h>

#include "policy/route_table.h"

using namespace claimgate::policy;

namespace {
RouteSpec route(std::string name, RouteMatch m) { return RouteSpec{std::move(name), std::move(m), "app", AuthMode::Anonymous}; }
std::string matched(const RouteTable& t, std::string_view method, std::string_view host, std::string_view path) {
  const RouteSpec* r = t.match(method, host, path);
  return r ? r->name : "<none>";
}
}  // namespace

TEST_CASE("prefixes are segment-aware") {
  CHECK(matches_path_prefix("/admin", "/admin"));
  CHECK(matches_path_prefix("/admin", "/admin/"));
  CHECK(matches_path_prefix("/admin", "/admin/x/y"));
  CHECK_FALSE(matches_path_prefix("/admin", "/administrator"));
  CHECK(matches_path_prefix("/admin/", "/admin"));
  CHECK(matches_path_prefix("/admin/", "/admin/x"));
  CHECK_FALSE(matches_path_prefix("/admin/", "/administrator"));
  CHECK(matches_path_prefix("/", "/anything"));
  CHECK_FALSE(matches_path_prefix("/a", "/"));
}

TEST_CASE("hosts compare lower-case without port or trailing dot") {
  CHECK(normalize_host("API.Example.com.:8443") == "api.example.com");
  CHECK(normalize_host("[::1]:80") == "[::1]");
  CHECK(normalize_host("example.com") == "example.com");
}

TEST_CASE("first match wins; methods are case-sensitive") {
  RouteTable table({route("exact", {.path = "/posts", .methods = {"POST"}}),
                    route("host", {.path_prefix = "/pma/", .host = "API.example.com"}),
                    route("admin", {.path_prefix = "/admin"}),
                    route("get-only", {.path_prefix = "/", .methods = {"GET", "HEAD"}})});
  CHECK(matched(table, "POST", "x", "/posts") == "exact");
  CHECK(matched(table, "GET", "x", "/posts") == "get-only");
  CHECK(matched(table, "post", "x", "/posts") == "<none>");
  CHECK(matched(table, "GET", "api.example.com:443", "/pma/x") == "host");
  CHECK(matched(table, "GET", "other.example.com", "/pma/x") == "get-only");
  CHECK(matched(table, "DELETE", "x", "/admin/users") == "admin");
  CHECK(matched(table, "DELETE", "x", "/administrator") == "<none>");
}

TEST_CASE("auth modes round-trip") {
  for (AuthMode m : {AuthMode::Required, AuthMode::Optional, AuthMode::Anonymous}) {
    CHECK(parse_auth_mode(to_string(m)) == m);
  }
  CHECK_FALSE(parse_auth_mode("Anonymous").has_value());
}
