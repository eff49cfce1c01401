// The request decision, table-driven: one config, many requests, the plan each one gets.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "jwks/jwks.h"
#include "jwt/base64url.h"
#include "plan/request_plan.h"
#include "tools/token_signer.h"

using namespace claimgate;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://issuer.test";

constexpr std::array<std::uint8_t, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
constexpr std::array<std::uint8_t, 16> kElsewhere = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7};

constexpr const char* kConfig = R"(
client: { max_request_body_bytes: 1000 }
forward_auth: { path: /_auth }
upstreams:
  app: { url: "http://127.0.0.1:9" }
token_sources:
  - { header: Authorization, prefix: "Bearer " }
  - { query: access_token }
  - { websocket_protocol: true }
providers:
  - name: test
    issuer: "https://issuer.test"
    audiences: [app]
    jwks_file: /nonexistent/jwks.json
    algorithms: [EdDSA]
claim_headers:
  X-User-Sub: sub
strip_token: true
routes:
  - match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - match: { path_prefix: /api/ }
    upstream: app
    require: { scopes_all: ["read:users"] }
  - match: { path_prefix: /ws/ }
    upstream: app
    websocket: true
)";

struct Fixture {
  boost::asio::io_context control;
  config::Config config;
  proxy::RuntimeConfig runtime;
  std::optional<tools::TokenSigner> signer;
  std::unique_ptr<auth::TokenVerifier> verifier;

  Fixture() {
    auto loaded = config::load_config_text(kConfig);
    REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : config::format_errors("test", loaded.error())));
    config = std::move(*loaded);
    auto s = tools::TokenSigner::generate(jwt::Algorithm::EdDSA, "k1");
    REQUIRE(s.has_value());
    signer = std::move(*s);
    auto keys = jwks::parse_jwks(signer->public_jwks(), jwks::KeySource::Network);
    REQUIRE(keys.has_value());
    auto snapshot = std::make_shared<keys::KeySnapshot>();
    snapshot->keys = std::move(*keys);
    snapshot->generation = 1;
    std::vector<std::shared_ptr<keys::ProviderKeys>> providers{
        std::make_shared<keys::ProviderKeys>(control, config.providers.front(), snapshot)};
    runtime.settings = config.proxy;
    auto routes = policy::RouteTable::compile(config.routes);
    REQUIRE(routes.has_value());
    runtime.routes = std::move(*routes);
    runtime.path_options = config.path_options;
    runtime.authenticator = std::make_shared<auth::Authenticator>(config.auth, providers);
    verifier = std::make_unique<auth::TokenVerifier>(runtime.authenticator, 100);
  }

  std::string token(std::vector<std::string> scopes, std::string kid = "k1") {
    ClaimValue::Array list;
    for (auto& s : scopes) list.emplace_back(s);
    ClaimValue::Object claims{{"iss", kIssuer}, {"sub", "user:alice"}, {"aud", "app"},
                              {"iat", kNow}, {"exp", kNow + 600}, {"scopes", list}};
    auto signed_token = kid == "k1" ? signer->sign(claims) : [&] {
      auto other = tools::TokenSigner::generate(jwt::Algorithm::EdDSA, kid);
      return other->sign(claims);
    }();
    REQUIRE(signed_token.has_value());
    return *signed_token;
  }
};

struct Request {
  std::string method = "GET";
  std::string target;
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<std::uint64_t> content_length;
  std::array<std::uint8_t, 16> client = kLoopback;
  bool may_wait = true;
  bool may_verify_later = false;
};

plan::RequestPlan plan_for(Fixture& f, const Request& r) {
  http::RequestHead head;
  head.method = r.method;
  head.target = r.target;
  head.host = "gw.test";
  head.content_length = r.content_length;
  for (const auto& [name, value] : r.fields) {
    head.fields.emplace_back(name, value);
    if (http::iequals(name, "connection"))
      http::for_each_list_member(head.fields.back().second,
                                 [&](std::string_view o) { head.connection_options.push_back(o); });
  }
  plan::RequestPlan out;
  plan::plan_request({f.runtime, head, r.client, kNow, r.may_wait, r.may_verify_later}, *f.verifier, out);
  return out;
}

using Action = plan::RequestPlan::Action;

}  // namespace

TEST_CASE("each request gets the plan its route, path and credentials call for") {
  Fixture f;
  const std::string good = f.token({"read:users"});
  const std::string weak = f.token({"write:posts"});
  const std::string unknown_kid = f.token({"read:users"}, "k2");
  struct Case {
    const char* name;
    Request request;
    Action action;
    unsigned status;          // Reply
    const char* outcome;      // auth outcome ("" before authentication)
    const char* upstream_target;  // Forward
  };
  const std::vector<Case> cases = {
      {"anonymous route forwards with the normalised path and query",
       {.target = "/public/./a//b?x=1"}, Action::Forward, 0, "anonymous", "/public/a/b?x=1"},
      {"dot segments are resolved before the route is chosen", {.target = "/public/../nowhere"}, Action::Reply, 404, "", ""},
      {"an encoded slash is refused before any route", {.target = "/public/a%2Fb"}, Action::Reply, 400, "", ""},
      {"no route is 404", {.target = "/nowhere"}, Action::Reply, 404, "", ""},
      {"a body over the limit is 413 first", {.method = "POST", .target = "/public/x", .content_length = 1001},
       Action::Reply, 413, "", ""},
      {"protected route without a token is 401 missing_token", {.target = "/api/users"}, Action::Reply, 401,
       "missing_token", ""},
      {"a token that is not a JWT is 401 invalid_token",
       {.target = "/api/users", .fields = {{"Authorization", "Bearer abc.def.ghi"}}}, Action::Reply, 401, "invalid_token", ""},
      {"a verified token without the scope is 403",
       {.target = "/api/users", .fields = {{"Authorization", "Bearer " + weak}}}, Action::Reply, 403, "forbidden", ""},
      {"a verified token with the scope forwards",
       {.target = "/api/users", .fields = {{"Authorization", "Bearer " + good}}}, Action::Forward, 0, "allow", "/api/users"},
      {"a token in the query is removed from the upstream target",
       {.target = "/api/users?a=1&access_token=" + good + "&b=2"}, Action::Forward, 0, "allow", "/api/users?a=1&b=2"},
      {"an unknown kid waits for a key refetch once",
       {.target = "/api/users", .fields = {{"Authorization", "Bearer " + unknown_kid}}}, Action::WaitForKeys, 0,
       "waiting_for_keys", ""},
      {"after the wait an unknown kid is 401",
       {.target = "/api/users", .fields = {{"Authorization", "Bearer " + unknown_kid}}, .may_wait = false}, Action::Reply,
       401, "invalid_token", ""},
      {"forward-auth answers 200 for the original request it describes",
       {.target = "/_auth", .fields = {{"X-Forwarded-Uri", "/api/users"}, {"Authorization", "Bearer " + good}}},
       Action::Reply, 200, "allow", ""},
      {"forward-auth maps a missing token to 401",
       {.target = "/_auth", .fields = {{"X-Original-URI", "/api/users"}}}, Action::Reply, 401, "missing_token", ""},
      {"forward-auth from an untrusted address is 403",
       {.target = "/_auth", .fields = {{"X-Forwarded-Uri", "/api/users"}}, .client = kElsewhere}, Action::Reply, 403, "",
       ""},
      {"forward-auth without the original URI is 403", {.target = "/_auth"}, Action::Reply, 403, "", ""},
      {"forward-auth with no route for the original request is 403",
       {.target = "/_auth", .fields = {{"X-Forwarded-Uri", "/nowhere"}}}, Action::Reply, 403, "", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const plan::RequestPlan p = plan_for(f, c.request);
    CHECK(p.action == c.action);
    CHECK(p.outcome() == std::string_view(c.outcome));
    if (c.action == Action::Reply) CHECK(p.reply.status == c.status);
    if (c.action == Action::Forward) {
      CHECK(p.upstream_target == c.upstream_target);
      REQUIRE(p.upstream != nullptr);
      CHECK(p.upstream->name == "app");
    }
  }
}

TEST_CASE("forwarding strips the token's header when strip_token is on, and forward-auth returns claim headers") {
  Fixture f;
  const std::string good = f.token({"read:users"});
  const plan::RequestPlan forwarded =
      plan_for(f, {.target = "/api/users", .fields = {{"Authorization", "Bearer " + good}}});
  REQUIRE(forwarded.action == Action::Forward);
  REQUIRE(forwarded.auth.identity != nullptr);
  CHECK(forwarded.strip_headers == std::vector<std::string_view>{"Authorization"});
  CHECK(forwarded.strip_cookies.empty());

  const plan::RequestPlan allowed =
      plan_for(f, {.target = "/_auth", .fields = {{"X-Forwarded-Uri", "/api/users"}, {"Authorization", "Bearer " + good}}});
  REQUIRE(allowed.action == Action::Reply);
  CHECK(allowed.forward_auth);
  const auto header = std::find_if(allowed.reply.headers.begin(), allowed.reply.headers.end(),
                                   [](const auto& h) { return h.first == "X-User-Sub"; });
  REQUIRE(header != allowed.reply.headers.end());
  CHECK(header->second == "user:alice");
}

TEST_CASE("a rejected path is reported with its reason") {
  Fixture f;
  const plan::RequestPlan p = plan_for(f, {.target = "/public/a;b"});
  REQUIRE(p.action == Action::Reply);
  CHECK(p.path_error == policy::PathError::PathParameter);
  CHECK(p.reply.status == 400);
  CHECK(p.normalized_path.empty());
}

TEST_CASE("a token that needs a signature check can be left for later; a cached one cannot") {
  Fixture f;
  const std::string good = f.token({"read:users"});
  const std::string weak = f.token({"write:posts"});
  const Request fresh{.target = "/api/users", .fields = {{"Authorization", "Bearer " + good}}, .may_verify_later = true};
  const plan::RequestPlan later = plan_for(f, fresh);
  CHECK(later.action == Action::VerifyLater);
  CHECK(f.verifier->cache_stats().misses == 0);  // nothing was verified, nothing counted

  Request now = fresh;
  now.may_verify_later = false;
  CHECK(plan_for(f, now).action == Action::Forward);
  CHECK(f.verifier->cache_stats().misses == 1);

  // Now cached: decided at once, even when later is allowed.
  const plan::RequestPlan cached = plan_for(f, fresh);
  CHECK(cached.action == Action::Forward);
  CHECK(cached.outcome() == "allow");
  CHECK(f.verifier->cache_stats().hits == 1);

  // Without a token, or on an anonymous route without one, there is nothing to leave for later.
  CHECK(plan_for(f, {.target = "/api/users", .may_verify_later = true}).action == Action::Reply);
  CHECK(plan_for(f, {.target = "/public/x", .may_verify_later = true}).action == Action::Forward);
  // A second, different token that is not cached defers the request too.
  const plan::RequestPlan second = plan_for(
      f, {.target = "/api/users?access_token=" + weak, .fields = {{"Authorization", "Bearer " + good}}, .may_verify_later = true});
  CHECK(second.action == Action::VerifyLater);
}

TEST_CASE("a WebSocket handshake is planned as an upgrade on websocket routes only") {
  Fixture f;
  const std::string good = f.token({"read:users"});
  using Fields = std::vector<std::pair<std::string, std::string>>;
  const Fields handshake{{"Connection", "Upgrade"}, {"Upgrade", "websocket"}, {"Authorization", "Bearer " + good}};
  CHECK(plan_for(f, {.target = "/ws/chat", .fields = handshake}).upgrade);
  const plan::RequestPlan api = plan_for(f, {.target = "/api/users", .fields = handshake});
  REQUIRE(api.action == Action::Forward);
  CHECK_FALSE(api.upgrade);
  const plan::RequestPlan h2c =
      plan_for(f, {.target = "/ws/chat",
                   .fields = {{"Connection", "Upgrade"}, {"Upgrade", "h2c"}, {"Authorization", "Bearer " + good}}});
  REQUIRE(h2c.action == Action::Forward);
  CHECK_FALSE(h2c.upgrade);
  const plan::RequestPlan plain = plan_for(f, {.target = "/ws/chat", .fields = {{"Authorization", "Bearer " + good}}});
  REQUIRE(plain.action == Action::Forward);
  CHECK_FALSE(plain.upgrade);
  CHECK_FALSE(plain.strip_protocol_token);
}

TEST_CASE("a token in Sec-WebSocket-Protocol authorises a handshake and its entry is stripped") {
  Fixture f;
  const std::string entry =
      "base64url.bearer.authorization.claimgate." + jwt::encode_base64url(f.token({"read:users"}));
  using Fields = std::vector<std::pair<std::string, std::string>>;
  const Fields handshake{
      {"Connection", "Upgrade"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Protocol", "chat, " + entry}};
  const plan::RequestPlan p = plan_for(f, {.target = "/api/users", .fields = handshake});
  REQUIRE(p.action == Action::Forward);
  CHECK(p.outcome() == "allow");
  CHECK(p.strip_protocol_token);
  CHECK(p.strip_headers.empty());  // the Sec-WebSocket-Protocol header itself stays
  // Outside a handshake the entry is no token.
  const plan::RequestPlan not_handshake =
      plan_for(f, {.target = "/api/users", .fields = {{"Sec-WebSocket-Protocol", entry}}});
  CHECK(not_handshake.outcome() == "missing_token");
}
