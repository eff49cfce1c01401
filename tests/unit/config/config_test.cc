#include <doctest/doctest.h>

#include "config/config.h"

using namespace claimgate::config;

namespace {
constexpr const char* kMinimal = R"(upstreams:
  app: { url: "http://127.0.0.1:8000" }
routes:
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
)";

std::string errors_of(const std::string& yaml) {
  auto r = load_config_text(yaml);
  REQUIRE_FALSE(r.has_value());
  return format_errors("c.yaml", r.error());
}
}  // namespace

TEST_CASE("defaults fill a minimal config") {
  auto r = load_config_text(kMinimal);
  REQUIRE(r.has_value());
  CHECK(r->proxy.listen.host == "127.0.0.1");
  CHECK(r->proxy.listen.port == 8080);
  CHECK(r->proxy.max_request_header_bytes == 65536);
  REQUIRE(r->proxy.upstreams.size() == 1);
  CHECK(r->proxy.upstreams[0].port == 8000);
  REQUIRE(r->routes.size() == 1);
  CHECK(r->routes[0].name == "route_0");
}

TEST_CASE("every error is reported with line and key") {
  const std::string e = errors_of(std::string("listen: \"x:1\"\nbogus: 1\n") + kMinimal + "threads: -1\n");
  CHECK(e.find("c.yaml:1: listen:") != std::string::npos);
  CHECK(e.find("c.yaml:2: bogus: unknown key") != std::string::npos);
  CHECK(e.find("c.yaml:9: threads: must be between 0 and 256") != std::string::npos);
}

TEST_CASE("upstream urls") {
  CHECK(errors_of(R"(upstreams:
  app: { url: "https://a" }
routes: [ { match: { path: /a }, upstream: app, auth: anonymous } ]
)").find("upstreams.app.url: must be http://") != std::string::npos);
  auto ok = load_config_text(R"(upstreams:
  app: { url: "http://[::1]:81/" }
  dns: { url: "http://app.default.svc" }
routes: [ { match: { path: /a }, upstream: dns, auth: anonymous } ]
)");
  REQUIRE(ok.has_value());
  CHECK(ok->proxy.upstreams[0].host == "::1");
  CHECK(ok->proxy.upstreams[0].port == 81);
  CHECK(ok->proxy.upstreams[1].host == "app.default.svc");
  CHECK(ok->proxy.upstreams[1].port == 80);
}

TEST_CASE("routes") {
  CHECK(errors_of(R"(upstreams: { app: { url: "http://a:1" } }
routes:
  - { match: { path: /a, path_prefix: /b }, upstream: app, auth: anonymous }
  - { name: x, match: { path: /a, methods: ["GE T"] }, upstream: nope, auth: anonymous }
  - { name: x, match: { path: /c }, upstream: app, auth: anonymous }
)") == "c.yaml:3: routes[0].match: set either path or path_prefix, not both\n"
       "c.yaml:4: routes[1].match.methods: \"GE T\" is not an HTTP method token\n"
       "c.yaml:4: routes[1].upstream: names no entry of upstreams: \"nope\"\n"
       "c.yaml:5: routes[2].name: duplicate route name \"x\"\n");
}

TEST_CASE("trusted proxies") {
  auto r = load_config_text(std::string(kMinimal) + "trusted_proxies: [\"10.0.0.0/8\", \"::1\"]\n");
  REQUIRE(r.has_value());
  CHECK(r->proxy.trusted_proxies.size() == 2);
  CHECK(errors_of(std::string(kMinimal) + "trusted_proxies: [\"10.0.0.0/99\"]\n").find("trusted_proxies:") != std::string::npos);
}

TEST_CASE("syntax errors") {
  CHECK(errors_of("routes: [\n").find("YAML syntax error") != std::string::npos);
  CHECK(errors_of("").find("must be a mapping") != std::string::npos);
}
