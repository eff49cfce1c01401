#include <doctest/doctest.h>

#include "config/config.h"
#include "tls/upstream_context.h"

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
  app: { url: "ftp://a" }
routes: [ { match: { path: /a }, upstream: app, auth: anonymous } ]
)").find("upstreams.app.url: must be http://HOST[:PORT] or https://HOST[:PORT]") != std::string::npos);
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
  CHECK(ok->proxy.upstreams[1].tls == nullptr);
}

TEST_CASE("https upstreams: a TLS context at load, TLS keys only with https://") {
  auto ok = load_config_text(R"(upstreams:
  app: { url: "https://app.internal" }
  named: { url: "https://10.0.0.1:8443", server_name: app.internal, client_cert_file: "", client_key_file: "" }
  plain: { url: "http://10.0.0.1", ca_file: "" }
routes: [ { match: { path: /a }, upstream: app, auth: anonymous } ]
)");
  REQUIRE(ok.has_value());
  const auto& ups = ok->proxy.upstreams;
  CHECK(ups[0].port == 443);
  REQUIRE(ups[0].tls != nullptr);
  CHECK(ups[0].tls->server_name() == "app.internal");  // the URL's host by default
  REQUIRE(ups[1].tls != nullptr);
  CHECK(ups[1].tls->server_name() == "app.internal");
  CHECK(ups[1].host == "10.0.0.1");
  CHECK(ups[2].tls == nullptr);

  const std::string e = errors_of(R"(upstreams:
  plain:
    url: "http://10.0.0.1"
    ca_file: /etc/ca.pem
    server_name: a
  half:
    url: "https://a"
    client_cert_file: /etc/c.pem
  other_half:
    url: "https://a"
    client_key_file: /etc/k.pem
  absent:
    url: "https://a"
    ca_file: /nonexistent/ca.pem
  bad_name: { url: "https://a", server_name: "a/b" }
routes: [ { match: { path: /a }, upstream: plain, auth: anonymous } ]
)");
  CHECK(e.find("c.yaml:4: upstreams.plain.ca_file: applies only to https:// upstreams") != std::string::npos);
  CHECK(e.find("c.yaml:5: upstreams.plain.server_name: applies only to https:// upstreams") != std::string::npos);
  CHECK(e.find("c.yaml:8: upstreams.half.client_cert_file: needs client_key_file as well") != std::string::npos);
  CHECK(e.find("c.yaml:11: upstreams.other_half.client_key_file: needs client_cert_file as well") != std::string::npos);
  CHECK(e.find("c.yaml:14: upstreams.absent.ca_file: cannot load CA certificates from \"/nonexistent/ca.pem\": "
               "No such file or directory") != std::string::npos);
  CHECK(e.find("c.yaml:15: upstreams.bad_name.server_name: must be a DNS name or an IP address") != std::string::npos);
}

TEST_CASE("routes") {
  CHECK(errors_of(R"(upstreams: { app: { url: "http://a:1" } }
routes:
  - { match: { path: /a, path_prefix: /b }, upstream: app, auth: anonymous }
  - { name: x, match: { path: /a, methods: ["GE T"] }, upstream: nope, auth: anonymous }
  - { name: x, match: { path: /c }, upstream: app, auth: anonymous }
)") == "c.yaml:3: routes[0]: route \"route_0\": needs exactly one of path, path_prefix, path_glob, path_regex\n"
       "c.yaml:4: routes[1].match.methods: \"GE T\" is not an HTTP method token\n"
       "c.yaml:4: routes[1].upstream: names no entry of upstreams: \"nope\"\n"
       "c.yaml:5: routes[2].name: duplicate route name \"x\"\n");
}

namespace {
// A provider so that routes which verify tokens are accepted.
constexpr const char* kWithProvider = R"(upstreams: { app: { url: "http://a:1" } }
providers:
  - { name: usso, issuer: "https://sso.example.com", jwks_file: /etc/claimgate/usso.json, algorithms: [EdDSA] }
)";

bool has_error(const std::string& errors, const std::string& line) {
  return errors.find(line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("routes: matchers, auth, providers, requirements and path normalisation") {
  using claimgate::policy::Requirement;
  using Kind = Requirement::Kind;
  const auto c = load_config_text(std::string(kWithProvider) + R"yaml(routes:
  - name: tenants
    match: { path_regex: "/tenants/([^/]+)/.*", methods: [GET], host: API.example.com }
    upstream: app
    providers: [usso]
    bypass_cors_preflight: true
    require:
      roles_any: [editor]
      claims:
        permissions.pma.role: admin
        tenant_id: [org_a, org_b]
        "https://example.com/roles": { exists: true }
        sub: { regex: "user:.*" }
        level: 3
        beta: true
        code: "007"
      path_claims: { tenant_id: 1 }
      any: [ { scopes_all: ["write:posts"] }, { roles_all: [admin] } ]
  - match: { path_glob: /files/** }
    upstream: app
    auth: optional
  - match: { path_prefix: / }
    upstream: app
    require: {}
path_normalization: { allow_encoded_slash: true, allow_path_parameters: true }
)yaml");
  REQUIRE_MESSAGE(c.has_value(), format_errors("c.yaml", c.error()));
  REQUIRE(c->routes.size() == 3);
  const auto& tenants = c->routes[0];
  CHECK(tenants.auth == claimgate::policy::AuthMode::Required);
  CHECK(tenants.providers == std::vector<std::string>{"usso"});
  CHECK(tenants.bypass_cors_preflight);
  CHECK(tenants.match.path_regex == "/tenants/([^/]+)/.*");
  CHECK(tenants.match.host == "API.example.com");
  REQUIRE(tenants.require.kind == Kind::All);
  std::vector<Kind> kinds;
  for (const Requirement& r : tenants.require.children) kinds.push_back(r.kind);
  CHECK(kinds == std::vector<Kind>{Kind::RolesAny, Kind::Claim, Kind::Claim, Kind::Claim, Kind::Claim, Kind::Claim,
                                   Kind::Claim, Kind::Claim, Kind::PathClaim, Kind::Any});
  CHECK(tenants.require.children[2].claim == "tenant_id");
  CHECK(tenants.require.children[2].condition.describe() == "in [\"org_a\", \"org_b\"]");
  CHECK(tenants.require.children[3].claim == "https://example.com/roles");
  CHECK(tenants.require.children[8].capture == 1);
  CHECK(tenants.require.children[9].children.size() == 2);

  const claimgate::Claims claims{{"permissions", claimgate::ClaimValue::Object{{"pma", claimgate::ClaimValue::Object{{"role", "admin"}}}}},
                                 {"tenant_id", "org_a"}, {"https://example.com/roles", "x"}, {"sub", "user:alice"},
                                 {"level", 3}, {"beta", true}, {"code", "007"}};
  const std::vector<std::string> roles{"editor"};
  const std::vector<std::string> scopes{"write:posts"};
  const claimgate::policy::Subject subject{claims, roles, scopes};
  CHECK(evaluate(tenants.require, subject, {"/tenants/org_a/x", "org_a"}).decision == claimgate::policy::Decision::Allow);
  CHECK(evaluate(tenants.require, subject, {"/tenants/org_b/x", "org_b"}).decision ==
        claimgate::policy::Decision::PathBindingMismatch);

  CHECK(c->routes[1].auth == claimgate::policy::AuthMode::Optional);
  CHECK(c->routes[1].match.path_glob == "/files/**");
  CHECK(c->routes[2].require.kind == Kind::All);
  CHECK(c->routes[2].require.children.empty());
  CHECK(c->path_options.allow_encoded_slash);
  CHECK_FALSE(c->path_options.allow_backslash);
  CHECK(c->path_options.allow_path_parameters);
  CHECK_FALSE(load_config_text(kMinimal)->path_options.allow_encoded_slash);
}

TEST_CASE("route errors name the key path and line") {
  const std::string e = errors_of(std::string(kWithProvider) + R"yaml(routes:
  - match: { path_prefix: /a }
    upstream: app
    require:
      any:
        - { roles_any: [admin] }
        - { scopes_all: "write:posts" }
        - { role_any: [x] }
      claims:
        tenant_id: ~
        level: 1.5
        beta: True
        n: 007
        ok: "007"
        sub: { regex: "(" }
        x: { exists: true, regex: a }
      path_claims: { tenant_id: 0 }
      roles_all: []
  - match: { path_regex: "/t/(" }
    upstream: app
  - match: { path_regex: "/t/([^/]+)" }
    upstream: app
    require: { path_claims: { tenant_id: 2 } }
  - match: { path_prefix: /p, path_glob: /p/* }
    upstream: app
  - match: { path: /x }
    upstream: app
    auth: anonymous
    require: { roles: [a] }
  - match: { path_prefix: /a//b }
    upstream: app
    auth: anonymous
path_normalization: { allow_backslash: yes }
)yaml");
  CAPTURE(e);
  CHECK(has_error(e, "c.yaml:10: routes[0].require.any[1].scopes_all: must be a list of strings"));
  CHECK(e.find("c.yaml:11: routes[0].require.any[2].role_any: unknown key (expected one of: roles_any") != std::string::npos);
  CHECK(has_error(e, "c.yaml:13: routes[0].require.claims.tenant_id: null never equals a claim; use { exists: false } for an absent claim"));
  CHECK(has_error(e, "c.yaml:14: routes[0].require.claims.level: a float never equals a claim; quote the value to compare it as text"));
  CHECK(has_error(e, "c.yaml:15: routes[0].require.claims.beta: write booleans as true or false"));
  CHECK(has_error(e, "c.yaml:16: routes[0].require.claims.n: write integers in plain decimal, or quote the value to compare it as text"));
  CHECK(e.find("c.yaml:17:") == std::string::npos);
  CHECK(has_error(e, "c.yaml:18: routes[0].require.claims.sub.regex: invalid RE2 pattern: missing ): ("));
  CHECK(has_error(e, "c.yaml:19: routes[0].require.claims.x: needs exactly one of exists, regex"));
  CHECK(has_error(e, "c.yaml:20: routes[0].require.path_claims.tenant_id: must be between 1 and 99"));
  CHECK(has_error(e, "c.yaml:21: routes[0].require.roles_all: must list at least one name"));
  CHECK(has_error(e, "c.yaml:22: routes[1]: route \"route_1\": path_regex: \"/t/(\": missing ): /t/("));
  CHECK(has_error(e, "c.yaml:24: routes[2]: route \"route_2\": require.path_claims refers to capture 2, but the route's path has 1 capture"));
  CHECK(has_error(e, "c.yaml:27: routes[3]: route \"route_3\": needs exactly one of path, path_prefix, path_glob, path_regex"));
  CHECK(has_error(e, "c.yaml:32: routes[4].require: has no effect on a route with auth: anonymous"));
  CHECK(e.find("c.yaml:32: routes[4].require.roles: unknown key (expected one of: roles_any") != std::string::npos);
  CHECK(has_error(e, "c.yaml:33: routes[5]: route \"route_5\": path_prefix: \"/a//b\" is not in normalised form; requests arrive as \"/a/b\""));
  CHECK(has_error(e, "c.yaml:36: path_normalization.allow_backslash: must be true or false"));
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

TEST_CASE("listen is one plain listener; listeners replace it") {
  auto r = load_config_text(std::string("listen: \"127.0.0.1:9000\"\n") + kMinimal);
  REQUIRE(r.has_value());
  REQUIRE(r->proxy.listeners.size() == 1);
  CHECK(r->proxy.listeners[0].address.port == 9000);
  CHECK_FALSE(r->proxy.listeners[0].tls.has_value());

  auto two = load_config_text(std::string("listeners:\n  - address: \"127.0.0.1:9001\"\n  - address: \"[::1]:9002\"\n") + kMinimal);
  REQUIRE(two.has_value());
  REQUIRE(two->proxy.listeners.size() == 2);
  CHECK(two->proxy.listeners[1].address.host == "::1");
  CHECK(two->proxy.listen.port == 9001);

  const std::string e = errors_of(std::string("listen: \"127.0.0.1:9000\"\nlisteners:\n  - address: \"127.0.0.1:9001\"\n"
                                              "  - address: \"127.0.0.1:9001\"\n  - address: \"127.0.0.1:9003\"\n    tls: {}\n"
                                              "  - { address: \"127.0.0.1:9004\", bogus: 1 }\n") +
                                  kMinimal);
  CHECK(e.find("c.yaml:3: listeners: cannot be used together with listen") != std::string::npos);
  CHECK(e.find("c.yaml:4: listeners[1].address: is already used by another listener") != std::string::npos);
  CHECK(e.find("listeners[2].tls.certificates: is required") != std::string::npos);
  CHECK(e.find("listeners[3].bogus: unknown key") != std::string::npos);
  CHECK(errors_of(std::string("listeners: []\n") + kMinimal).find("listeners: must be a non-empty list") != std::string::npos);
  CHECK(errors_of(std::string("admin: \"127.0.0.1:9001\"\nlisteners:\n  - address: \"127.0.0.1:9001\"\n") + kMinimal)
            .find("admin: must differ from every listener") != std::string::npos);
}

TEST_CASE("tls settings are checked before any file is read") {
  const std::string e = errors_of(std::string("listeners:\n  - address: \"127.0.0.1:9001\"\n    tls:\n"
                                              "      certificates: [{ cert_file: \"\" }]\n      min_version: \"1.0\"\n"
                                              "      verify_client: sometimes\n") +
                                  kMinimal);
  CHECK(e.find("listeners[0].tls.certificates[0].cert_file: must not be empty") != std::string::npos);
  CHECK(e.find("listeners[0].tls.certificates[0].key_file: is required") != std::string::npos);
  CHECK(e.find("c.yaml:5: listeners[0].tls.min_version: must be \"1.2\" or \"1.3\"") != std::string::npos);
  CHECK(e.find("listeners[0].tls.verify_client: must be required or optional") != std::string::npos);
  CHECK(e.find("listeners[0].tls.verify_client: needs client_ca_file") != std::string::npos);
  const std::string missing = errors_of(std::string("listeners:\n  - address: \"127.0.0.1:9001\"\n    tls:\n"
                                                    "      certificates: [{ cert_file: /nonexistent.crt, key_file: /nonexistent.key }]\n") +
                                        kMinimal);
  CHECK(missing.find("c.yaml:4: listeners[0].tls: cert_file /nonexistent.crt: cannot be read") != std::string::npos);
}

TEST_CASE("websocket on routes") {
  auto r = load_config_text(std::string(kWithProvider) + R"yaml(routes:
  - { match: { path_prefix: /a }, upstream: app, websocket: true }
  - { match: { path_prefix: /b }, upstream: app, websocket: { close_at_token_expiry: true, idle_timeout_ms: 5000 } }
  - { match: { path_prefix: /c }, upstream: app, websocket: {} }
  - { match: { path_prefix: /d }, upstream: app, websocket: false }
  - { match: { path_prefix: /e }, upstream: app }
)yaml");
  REQUIRE(r.has_value());
  const auto& routes = r->routes;
  CHECK(routes[0].websocket.enabled);
  CHECK_FALSE(routes[0].websocket.close_at_token_expiry);
  CHECK(routes[0].websocket.idle_timeout_ms == 300000);
  CHECK(routes[1].websocket.enabled);
  CHECK(routes[1].websocket.close_at_token_expiry);
  CHECK(routes[1].websocket.idle_timeout_ms == 5000);
  CHECK(routes[2].websocket.enabled);  // a mapping turns it on
  CHECK_FALSE(routes[3].websocket.enabled);
  CHECK_FALSE(routes[4].websocket.enabled);

  const std::string e = errors_of(std::string(kWithProvider) + R"yaml(routes:
  - { match: { path_prefix: /a }, upstream: app, websocket: yes }
  - { match: { path_prefix: /b }, upstream: app, websocket: { idle_timeout_ms: 0 } }
  - { match: { path_prefix: /c }, upstream: app, websocket: { close_at_token_expiry: 1 } }
  - { match: { path_prefix: /d }, upstream: app, websocket: { idle: 5 } }
  - { match: { path_prefix: /e }, upstream: app, websocket: [true] }
)yaml");
  CAPTURE(e);
  CHECK(has_error(
      e,
      "c.yaml:5: routes[0].websocket: must be true, false or a mapping with close_at_token_expiry, idle_timeout_ms"));
  CHECK(has_error(e, "c.yaml:6: routes[1].websocket.idle_timeout_ms: must be between 1 and 86400000"));
  CHECK(has_error(e, "c.yaml:7: routes[2].websocket.close_at_token_expiry: must be true or false"));
  CHECK(
      e.find(
          "c.yaml:8: routes[3].websocket.idle: unknown key (expected one of: close_at_token_expiry idle_timeout_ms)") !=
      std::string::npos);
  CHECK(has_error(
      e,
      "c.yaml:9: routes[4].websocket: must be true, false or a mapping with close_at_token_expiry, idle_timeout_ms"));
}

TEST_CASE("the websocket_protocol token source") {
  auto r = load_config_text(std::string(kMinimal) + R"yaml(token_sources:
  - { header: Authorization, prefix: "Bearer " }
  - { websocket_protocol: true }
)yaml");
  REQUIRE(r.has_value());
  REQUIRE(r->auth.token_sources.size() == 2);
  CHECK(r->auth.token_sources[1].kind == claimgate::auth::TokenSource::Kind::WebSocketProtocol);

  const std::string e = errors_of(std::string(kMinimal) + R"yaml(token_sources:
  - { websocket_protocol: false }
  - { websocket_protocol: true }
  - { websocket_protocol: true }
  - { websocket_protocol: true, header: X-Token }
  - { websocket_protocol: 1 }
)yaml");
  CAPTURE(e);
  CHECK(has_error(e,
                  "c.yaml:8: token_sources[0].websocket_protocol: must be true (leave the source out to turn it off)"));
  CHECK(e.find("c.yaml:9:") == std::string::npos);
  CHECK(has_error(e, "c.yaml:10: token_sources[2].websocket_protocol: is already a token source"));
  CHECK(has_error(e, "c.yaml:11: token_sources[3]: needs exactly one of header, cookie, query, websocket_protocol"));
  CHECK(has_error(e, "c.yaml:12: token_sources[4].websocket_protocol: must be true or false"));
}
