#include <doctest/doctest.h>

#include "policy/route_table.h"
#include "printers.h"

using namespace claimgate::policy;

namespace {
RouteSpec route(std::string name, RouteMatch m, Requirement require = {}) {
  return RouteSpec{.name = std::move(name), .match = std::move(m), .upstream = "app", .require = std::move(require)};
}

RouteTable compile(std::vector<RouteSpec> routes) {
  auto table = RouteTable::compile(std::move(routes));
  REQUIRE_MESSAGE(table.has_value(), table.error());
  return std::move(*table);
}

std::string compile_error(std::vector<RouteSpec> routes) {
  auto table = RouteTable::compile(std::move(routes));
  REQUIRE_FALSE(table.has_value());
  return table.error();
}

std::string matched(const RouteTable& t, std::string_view path, std::string_view method = "GET",
                    std::string_view host = "x") {
  const auto r = t.match(method, host, path);
  return r ? r->route->name : "<none>";
}

std::vector<std::string> captures(const RouteTable& t, std::string_view path) {
  const auto r = t.match("GET", "x", path);
  REQUIRE(r.has_value());
  return r->captures;
}

using Strings = std::vector<std::string>;
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
  const RouteTable table = compile({route("exact", {.path = "/posts", .methods = {"POST"}}),
                                    route("host", {.path_prefix = "/pma/", .host = "API.example.com"}),
                                    route("admin", {.path_prefix = "/admin"}),
                                    route("get-only", {.path_prefix = "/", .methods = {"GET", "HEAD"}})});
  CHECK(matched(table, "/posts", "POST") == "exact");
  CHECK(matched(table, "/posts") == "get-only");
  CHECK(matched(table, "/posts", "post") == "<none>");
  CHECK(matched(table, "/pma/x", "GET", "Api.Example.COM.:443") == "host");
  CHECK(matched(table, "/pma/x", "GET", "other.example.com") == "get-only");
  CHECK(matched(table, "/admin/users", "DELETE") == "admin");
  CHECK(matched(table, "/administrator", "DELETE") == "<none>");
  CHECK(table.routes().size() == 4);
  CHECK(RouteTable().match("GET", "x", "/") == std::nullopt);
}

TEST_CASE("exact paths match only themselves, the trailing slash included") {
  const RouteTable table = compile({route("root", {.path = "/"}), route("posts", {.path = "/posts"})});
  CHECK(matched(table, "/") == "root");
  CHECK(matched(table, "/posts") == "posts");
  CHECK(matched(table, "/posts/") == "<none>");
  CHECK(matched(table, "/posts/1") == "<none>");
  CHECK(captures(table, "/posts").empty());
}

TEST_CASE("globs: * is one segment, ** any number") {
  const RouteTable table = compile({route("one", {.path_glob = "/users/*/posts"}),
                                    route("tail", {.path_glob = "/files/**"}),
                                    route("middle", {.path_glob = "/a/**/edit"}),
                                    route("both", {.path_glob = "/t/*/**"}),
                                    route("any", {.path_glob = "/**/raw"})});
  CHECK(matched(table, "/users/42/posts") == "one");
  CHECK(matched(table, "/users/42/x/posts") == "<none>");
  CHECK(matched(table, "/users//posts") == "<none>");
  CHECK(matched(table, "/users/42/posts/") == "<none>");
  CHECK(captures(table, "/users/42/posts") == Strings{"/users/42/posts", "42"});

  CHECK(captures(table, "/files") == Strings{"/files", ""});
  CHECK(captures(table, "/files/") == Strings{"/files/", ""});
  CHECK(captures(table, "/files/a/b/c.txt") == Strings{"/files/a/b/c.txt", "a/b/c.txt"});
  CHECK(matched(table, "/filesystem") == "<none>");

  CHECK(captures(table, "/a/edit") == Strings{"/a/edit", ""});
  CHECK(captures(table, "/a/x/y/edit") == Strings{"/a/x/y/edit", "x/y"});
  CHECK(matched(table, "/a/x/y/edit/more") == "<none>");

  CHECK(captures(table, "/t/org_a") == Strings{"/t/org_a", "org_a", ""});
  CHECK(captures(table, "/t/org_a/x/y") == Strings{"/t/org_a/x/y", "org_a", "x/y"});
  CHECK(matched(table, "/t") == "<none>");

  CHECK(captures(table, "/raw") == Strings{"/raw", ""});
  CHECK(captures(table, "/q/r/raw") == Strings{"/q/r/raw", "q/r"});
}

TEST_CASE("regexes match the whole path with RE2; groups are captures") {
  const RouteTable table = compile({route("tenant", {.path_regex = "^/tenants/([^/]+)/(.*)"}),
                                    route("opt", {.path_regex = "/v(1|2)/x(/y)?"}),
                                    route("numeric", {.path_regex = "/posts/[0-9]+"})});
  CHECK(captures(table, "/tenants/org_a/docs/1") == Strings{"/tenants/org_a/docs/1", "org_a", "docs/1"});
  CHECK(matched(table, "/tenants/org_a") == "<none>");
  CHECK(captures(table, "/v2/x") == Strings{"/v2/x", "2", ""});
  CHECK(captures(table, "/v1/x/y") == Strings{"/v1/x/y", "1", "/y"});
  CHECK(matched(table, "/posts/12") == "numeric");
  CHECK(matched(table, "/posts/12/") == "<none>");  // full match, not a search
  CHECK(matched(table, "/x/posts/12") == "<none>");
  CHECK(captures(table, "/posts/12") == Strings{"/posts/12"});
}

TEST_CASE("the segment index keeps table order") {
  // Routes without a literal first segment sit between bucketed ones; order must survive.
  const RouteTable table = compile({route("a-exact", {.path = "/a/x"}),
                                    route("regex-any", {.path_regex = "/(a|b)/y"}),
                                    route("glob-any", {.path_glob = "/*/z"}),
                                    route("a-prefix", {.path_prefix = "/a"}),
                                    route("alt-regex", {.path_regex = "^/a/q|/b/q"}),
                                    route("quantified", {.path_regex = "/ab?/w"}),
                                    route("root", {.path_prefix = "/"})});
  CHECK(matched(table, "/a/x") == "a-exact");
  CHECK(matched(table, "/a/y") == "regex-any");
  CHECK(matched(table, "/b/y") == "regex-any");
  CHECK(matched(table, "/a/z") == "glob-any");
  CHECK(matched(table, "/c/z") == "glob-any");
  CHECK(matched(table, "/a/q") == "a-prefix");
  CHECK(matched(table, "/b/q") == "alt-regex");
  CHECK(matched(table, "/a/w") == "a-prefix");
  CHECK(matched(table, "/ab/w") == "quantified");
  CHECK(matched(table, "/") == "root");
  CHECK(matched(table, "/zzz") == "root");

  // Anchors deeper than one segment, interleaved with shallower ones.
  const RouteTable deep = compile({route("glob", {.path_glob = "/a/*/c"}), route("exact", {.path = "/a/b/c"}),
                                   route("regex", {.path_regex = "/a/b/d/(.*)"}), route("prefix", {.path_prefix = "/a/b/"}),
                                   route("prefix-a", {.path_prefix = "/a"}), route("trailing", {.path = "/a/b/"}),
                                   route("deep-exact", {.path = "/a/b/e/f"})});
  CHECK(matched(deep, "/a/b/c") == "glob");
  CHECK(matched(deep, "/a/x/c") == "glob");
  CHECK(matched(deep, "/a/b/d/x") == "regex");
  CHECK(matched(deep, "/a/b/d") == "prefix");
  CHECK(matched(deep, "/a/b/") == "prefix");
  CHECK(matched(deep, "/a/b") == "prefix");
  CHECK(matched(deep, "/a/b/e/f") == "prefix");
  CHECK(matched(deep, "/a/x") == "prefix-a");
  CHECK(matched(deep, "/a") == "prefix-a");
  CHECK(matched(deep, "/ab") == "<none>");
  CHECK(matched(deep, "/") == "<none>");
}

TEST_CASE("compile rejects what can never work, naming the route") {
  CHECK(compile_error({route("r", {})}) == "route \"r\": needs exactly one of path, path_prefix, path_glob, path_regex");
  CHECK(compile_error({route("r", {.path = "/a", .path_regex = "/a"})}).find("exactly one") != std::string::npos);
  CHECK(compile_error({route("bad", {.path_regex = "/(a"})}).starts_with("route \"bad\": path_regex: \"/(a\": missing )"));
  CHECK(compile_error({route("g", {.path_glob = "/a/**/b/**"})}) == "route \"g\": path_glob: \"/a/**/b/**\": may contain \"**\" only once");
  CHECK(compile_error({route("g", {.path_glob = "/a/b*"})}).find("a wildcard must be a whole segment") != std::string::npos);
  CHECK(compile_error({route("g", {.path_glob = "a/*"})}).find("must start with '/'") != std::string::npos);
  CHECK(compile_error({route("p", {.path_prefix = "/a//b"})}) ==
        "route \"p\": path_prefix: \"/a//b\" is not in normalised form; requests arrive as \"/a/b\"");
  CHECK(compile_error({route("p", {.path = "/%61dmin"})}).find("requests arrive as \"/admin\"") != std::string::npos);
  CHECK(compile_error({route("p", {.path = "admin"})}).find("does not start with '/'") != std::string::npos);
  CHECK(compile_error({route("t", {.path_regex = "/t/([^/]+)"}, Requirement::path_claim("tenant_id", 2))}) ==
        "route \"t\": require.path_claims refers to capture 2, but the route's path has 1 capture");
  CHECK(compile_error({route("t", {.path_prefix = "/t"},
                             Requirement::any({Requirement::roles_any({"admin"}), Requirement::path_claim("tenant_id", 1)}))})
            .find("but the route's path has 0 captures") != std::string::npos);
}

TEST_CASE("a mixed table: each request reaches the first route that matches it") {
  const RouteTable table = compile({
      route("public", {.path_prefix = "/public/", .methods = {"GET", "HEAD"}}),
      route("admin", {.path_prefix = "/admin"}, Requirement::roles_any({"admin"})),
      route("posts", {.path = "/posts", .methods = {"POST"}}, Requirement::scopes_all({"write:posts"})),
      route("pma", {.path_prefix = "/pma/", .host = "api.example.com"}),
      route("tenants", {.path_regex = "^/tenants/([^/]+)/.*"}),
      route("rest", {.path_prefix = "/"}),
  });
  CHECK(matched(table, "/public/") == "public");
  CHECK(matched(table, "/public") == "public");
  CHECK(matched(table, "/public/a", "POST") == "rest");
  CHECK(matched(table, "/admin/x") == "admin");
  CHECK(matched(table, "/posts", "POST") == "posts");
  CHECK(matched(table, "/pma/1", "GET", "API.example.com:8443") == "pma");
  CHECK(matched(table, "/tenants/a/b") == "tenants");
  CHECK(matched(table, "/tenants/a") == "rest");
  CHECK(matched(table, "/elsewhere") == "rest");
}

TEST_CASE("auth modes round-trip; required is the default") {
  for (AuthMode m : {AuthMode::Required, AuthMode::Optional, AuthMode::Anonymous}) {
    CHECK(parse_auth_mode(to_string(m)) == m);
  }
  CHECK_FALSE(parse_auth_mode("Anonymous").has_value());
  CHECK(RouteSpec{}.auth == AuthMode::Required);
}
