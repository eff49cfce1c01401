#include "tools/explain.h"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "auth/authenticator.h"
#include "auth/decision.h"
#include "auth/token_sources.h"
#include "config/config.h"
#include "core/log.h"
#include "jwt/base64url.h"
#include "jwt/json_object.h"
#include "jwt/token.h"
#include "keys/provider_keys.h"
#include "plan/request_plan.h"
#include "tls/peer_certificate.h"
#include "policy/path_normalizer.h"
#include "policy/requirement.h"
#include "policy/route_table.h"
#include "tools/token_signer.h"

namespace claimgate::tools {

namespace {

namespace net = boost::asio;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kUsage =
    "usage: claimgate explain --config FILE --path PATH[?QUERY] [--method GET] [--host HOST]\n"
    "                         [--token T] [--header 'Name: value' ...] [--cookie 'name=value' ...]\n"
    "                         [--jwks-file FILE] [--client-cert PEM_FILE] [--now UNIX_SECONDS] [--json]\n"
    "Explains, without starting a server, how the gateway would answer this request and why.\n";

// ---------------------------------------------------------------------------- options and request

struct Options {
  std::string config_path;
  std::string method = "GET";
  std::string target;  // path, optionally with "?query"
  std::string host;
  std::optional<std::string> token;
  Fields headers;
  std::vector<std::string> cookies;
  std::optional<std::string> jwks_file;
  std::optional<std::string> client_cert_file;  // as if a TLS listener had verified it
  std::optional<std::int64_t> now;
  bool json = false;
};

Result<Fields::value_type, std::string> parse_header(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail("--header needs 'Name: value' (the argument is not repeated here: it may hold a token)");
  std::string_view value = text.substr(colon + 1);
  while (value.starts_with(' ') || value.starts_with('\t')) value.remove_prefix(1);
  return Fields::value_type{std::string(text.substr(0, colon)), std::string(value)};
}

Result<std::int64_t, std::string> parse_seconds(std::string_view text) {
  std::int64_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size())
    return fail("--now needs UNIX seconds, got \"" + std::string(text) + "\"");
  return value;
}

// Sets one valued option; the error is a sentence for stderr.
Result<bool, std::string> set_option(Options& o, std::string_view option, std::string_view value) {
  if (option == "--config") {
    o.config_path = value;
  } else if (option == "--method") {
    o.method = value;
  } else if (option == "--path") {
    o.target = value;
  } else if (option == "--host") {
    o.host = value;
  } else if (option == "--token") {
    o.token = std::string(value);
  } else if (option == "--cookie") {
    o.cookies.emplace_back(value);
  } else if (option == "--jwks-file") {
    o.jwks_file = std::string(value);
  } else if (option == "--client-cert") {
    o.client_cert_file = std::string(value);
  } else if (option == "--header") {
    auto header = parse_header(value);
    if (!header) return fail(header.error());
    o.headers.push_back(std::move(*header));
  } else if (option == "--now") {
    auto now = parse_seconds(value);
    if (!now) return fail(now.error());
    o.now = *now;
  } else {
    return fail("unknown option " + std::string(option));
  }
  return true;
}

Result<Options, std::string> parse_args(const std::vector<std::string_view>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      o.json = true;
      continue;
    }
    if (i + 1 >= args.size()) return fail("missing value after " + std::string(args[i]));
    if (auto set = set_option(o, args[i], args[i + 1]); !set) return fail(set.error());
    ++i;
  }
  if (o.config_path.empty()) return fail(std::string("--config is required"));
  if (o.target.empty()) return fail(std::string("--path is required"));
  return o;
}

// The request explain pretends to receive.
struct Request {
  std::string method;
  std::string host;
  std::string path;   // as given, without the query
  std::string query;  // may hold a token: never printed
  Fields headers;

  std::vector<std::pair<std::string_view, std::string_view>> header_views() const {
    return {headers.begin(), headers.end()};
  }
};

// --token goes where the gateway looks first: the first configured source.
Request make_request(const Options& o, const auth::AuthSettings& settings) {
  Request r{o.method, o.host, o.target, {}, o.headers};
  if (const auto q = o.target.find('?'); q != std::string::npos) {
    r.path = o.target.substr(0, q);
    r.query = o.target.substr(q + 1);
  }
  std::vector<std::string> cookies = o.cookies;
  if (o.token && !settings.token_sources.empty()) {
    const auth::TokenSource& s = settings.token_sources.front();
    if (s.kind == auth::TokenSource::Kind::Header) r.headers.emplace_back(s.name, s.prefix + *o.token);
    if (s.kind == auth::TokenSource::Kind::Cookie) cookies.push_back(s.name + "=" + *o.token);
    if (s.kind == auth::TokenSource::Kind::Query) r.query += (r.query.empty() ? "" : "&") + s.name + "=" + *o.token;
    if (s.kind == auth::TokenSource::Kind::WebSocketProtocol) {
      // The handshake a browser would send.
      r.headers.emplace_back("Connection", "Upgrade");
      r.headers.emplace_back("Upgrade", "websocket");
      r.headers.emplace_back("Sec-WebSocket-Protocol",
                             std::string(auth::kProtocolTokenPrefix) + jwt::encode_base64url(*o.token));
    }
  }
  std::string cookie_header;
  for (const std::string& c : cookies) cookie_header += (cookie_header.empty() ? "" : "; ") + c;
  if (!cookie_header.empty()) r.headers.emplace_back("Cookie", std::move(cookie_header));
  return r;
}

// ---------------------------------------------------------------------------- keys

struct Providers {
  std::vector<std::shared_ptr<keys::ProviderKeys>> keys;
  std::vector<bool> started;
};

// --jwks-file replaces the key source of the provider the token's "iss" selects.
void apply_jwks_file(std::vector<keys::ProviderSpec>& specs, const std::string& file, std::string_view token,
                     std::vector<std::string>& notes) {
  const auto issuer = jwt::peek_issuer(token);
  if (!issuer) {
    notes.push_back("--jwks-file not used: the token's \"iss\" cannot be read (" +
                    std::string(jwt::to_string(issuer.error())) + ")");
    return;
  }
  for (keys::ProviderSpec& spec : specs) {
    if (spec.verify.issuer != *issuer) continue;
    spec.source = keys::KeySourceKind::JwksFile;
    spec.jwks_file = file;
    return;
  }
  notes.push_back("--jwks-file not used: no provider has issuer \"" + *issuer + "\"");
}

// Which providers fetch: none without a token; offline (--jwks-file) only those reading files.
bool should_start(const keys::ProviderSpec& spec, bool have_token, bool offline) {
  return have_token && (!offline || spec.source != keys::KeySourceKind::JwksUrl);
}

// Every started provider's first attempt, as at gateway startup, bounded by startup_timeout_ms.
Providers load_keys(net::io_context& control, const std::vector<keys::ProviderSpec>& specs, bool have_token,
                    bool offline, std::chrono::milliseconds timeout) {
  Providers p;
  for (const keys::ProviderSpec& spec : specs) {
    p.keys.push_back(std::make_shared<keys::ProviderKeys>(control, spec));
    p.started.push_back(should_start(spec, have_token, offline));
    if (p.started.back()) p.keys.back()->start();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto all_done = [&] {
    for (std::size_t i = 0; i < p.keys.size(); ++i) {
      if (p.started[i] && !p.keys[i]->first_attempt_done()) return false;
    }
    return true;
  };
  while (!all_done() && control.run_one_until(deadline) > 0) {
  }
  for (auto& k : p.keys) k->stop();
  return p;
}

std::string key_source(const keys::ProviderSpec& spec) {
  switch (spec.source) {
    case keys::KeySourceKind::JwksUrl: return "from " + spec.jwks_url;
    case keys::KeySourceKind::JwksFile: return "from file " + spec.jwks_file;
    case keys::KeySourceKind::HmacSecretFile: return "from secret file " + spec.hmac_secret_file;
  }
  return {};
}

// Counts and kids only: never key material.
std::string describe_keys(const keys::ProviderKeys& provider, bool started) {
  const std::string from = key_source(provider.spec());
  if (!started) return "not loaded " + from + " (offline: --jwks-file was given)";
  const auto snapshot = provider.snapshot();
  if (!snapshot) {
    const std::string error = provider.last_error();
    return "none loaded " + from + (error.empty() ? std::string(" (no attempt finished in time)") : ": " + error);
  }
  const auto& keys = snapshot->keys.keys();
  std::string out = std::to_string(keys.size()) + (keys.size() == 1 ? " key " : " keys ") + from + ", kid";
  for (std::size_t i = 0; i < keys.size(); ++i)
    out += (i ? ", " : " ") + (keys[i].kid() ? "\"" + *keys[i].kid() + "\"" : std::string("(none)"));
  return out;
}

// ---------------------------------------------------------------------------- the report

struct TokenReport {
  std::string source;        // where it was found
  std::string decode_error;  // empty when the header and payload decode
  ClaimValue header;         // decoded JOSE header (unverified)
  ClaimValue claims;         // decoded payload (unverified)
  std::string provider;      // empty: no provider has the token's "iss"
  std::string keys;          // that provider's keys as loaded
  std::string result;        // verified, invalid, keys_unavailable, unknown_kid
  std::string reason;        // stable name; empty when verified
  std::optional<std::size_t> provider_index;
  auth::IdentityPtr identity;
};

struct Report {
  Request request;
  std::int64_t now = 0;
  std::optional<std::string> normalized_path;
  std::optional<policy::PathError> path_error;
  std::vector<policy::RouteTrace> routes;
  std::optional<policy::RouteMatchResult> match;
  std::optional<auth::ExtractionError> token_error;
  std::vector<TokenReport> tokens;
  std::optional<policy::Evaluation> evaluation;
  bool forwarded = false;
  bool upgrade = false;  // forwarded as a WebSocket handshake
  std::string outcome;  // decide()'s outcome, or rejected_path / no_route
  std::string reason;
  http::LocalReply reply;  // when not forwarded
  Fields injected;         // when forwarded with an identity
  std::vector<std::string> notes;
};

std::string describe_source(const auth::TokenSource& s) {
  switch (s.kind) {
    case auth::TokenSource::Kind::Header:
      return "header " + s.name + (s.prefix.empty() ? std::string() : " (prefix \"" + s.prefix + "\")");
    case auth::TokenSource::Kind::Cookie: return "cookie " + s.name;
    case auth::TokenSource::Kind::Query: return "query parameter " + s.name;
    case auth::TokenSource::Kind::WebSocketProtocol:
      return "Sec-WebSocket-Protocol entry " + std::string(auth::kProtocolTokenPrefix) + "...";
  }
  return {};
}

Result<ClaimValue, std::string> decode_segment(std::string_view segment) {
  std::string json;
  if (!jwt::decode_base64url(segment, json)) return fail(std::string(jwt::to_string(jwt::Error::BadBase64)));
  json.reserve(json.size() + jwt::kJsonPadding);
  auto parsed = jwt::parse_json_object(json);
  if (!parsed) return fail(std::string(jwt::to_string(parsed.error())));
  return ClaimValue(std::move(*parsed));
}

// Header and payload as the user needs them; the signature segment is never looked at.
void decode_token(std::string_view token, TokenReport& t) {
  const auto segments = jwt::split_token(token, jwt::kDefaultMaxTokenBytes);
  if (!segments) {
    t.decode_error = jwt::to_string(segments.error());
    return;
  }
  auto header = decode_segment(segments->header);
  auto claims = decode_segment(segments->payload);
  if (!header || !claims) {
    t.decode_error = !header ? header.error() : claims.error();
    return;
  }
  t.header = std::move(*header);
  t.claims = std::move(*claims);
}

std::string_view to_string(auth::VerifyStatus status) {
  switch (status) {
    case auth::VerifyStatus::Verified: return "verified";
    case auth::VerifyStatus::Invalid: return "invalid";
    case auth::VerifyStatus::NoKeys: return "keys_unavailable";
    case auth::VerifyStatus::UnknownKid: return "unknown_kid";
    case auth::VerifyStatus::NotCached: return "not_cached";
  }
  return "invalid";
}

TokenReport inspect_token(const auth::FoundToken& found, auth::TokenVerifier& verifier, const Providers& providers,
                          std::int64_t now) {
  const auth::Authenticator& a = verifier.authenticator();
  TokenReport t;
  t.source = describe_source(a.settings().token_sources[found.source_index]);
  decode_token(found.token, t);
  if (const auto issuer = jwt::peek_issuer(found.token)) {
    if (const auto index = a.provider_by_issuer(*issuer)) {
      t.provider = a.provider(*index).spec().name;
      t.keys = describe_keys(a.provider(*index), providers.started[*index]);
      t.provider_index = index;
    }
  }
  auth::VerifyOutcome v = verifier.verify(found.token, now);
  t.result = to_string(v.status);
  t.reason = v.reason;
  t.identity = std::move(v.identity);
  return t;
}

std::string_view describe_reason(std::string_view reason) {
  for (int i = 0; i <= static_cast<int>(jwt::Error::MissingRequiredClaim); ++i) {
    if (jwt::to_string(static_cast<jwt::Error>(i)) == reason) return jwt::describe(static_cast<jwt::Error>(i));
  }
  using EE = auth::ExtractionError;
  for (EE e : {EE::DuplicateHeader, EE::ConflictingCookies, EE::MalformedCredentials}) {
    if (auth::to_string(e) == reason) return auth::describe(e);
  }
  using P = policy::PathError;
  for (P p : {P::NotAbsolute, P::InvalidCharacter, P::MalformedEscape, P::EncodedNul, P::EncodedSlash, P::Backslash,
              P::PathParameter}) {
    if (policy::to_string(p) == reason) return policy::describe(p);
  }
  using D = policy::Decision;
  for (D d : {D::MissingRole, D::MissingScope, D::ClaimMismatch, D::PathBindingMismatch}) {
    if (policy::to_string(d) == reason) return policy::describe(d);
  }
  static constexpr std::pair<std::string_view, std::string_view> kOthers[] = {
      {"unknown_issuer", "No configured provider has the token's issuer (\"iss\")."},
      {"keys_unavailable", "The provider's keys are not loaded (the first fetch failed or did not finish in time)."},
      {"provider_not_allowed", "The token's provider is not in the route's providers list."},
      {"missing_token", "No token was found in any configured token source."},
      {"allow", "The token is valid and meets the route's requirements."},
      {"anonymous", "The request is forwarded without an identity."},
      {"cors_preflight", "A CORS preflight on a route with bypass_cors_preflight is forwarded without a token."},
      {"no_route", "No route matches the method, host and path."},
  };
  for (const auto& [name, text] : kOthers) {
    if (name == reason) return text;
  }
  return {};
}

// ---------------------------------------------------------------------------- the explanation

struct Gateway {
  config::Config config;
  proxy::RuntimeConfig runtime;  // its authenticator is made per explanation, from the keys it loads
};

// The providers' keys as the gateway would hold them for this request's first token.
Providers provider_keys(net::io_context& control, const Gateway& g, const Options& o,
                        const std::vector<auth::FoundToken>& found, std::vector<std::string>& notes) {
  std::vector<keys::ProviderSpec> specs = g.config.providers;
  if (o.jwks_file && !found.empty()) apply_jwks_file(specs, *o.jwks_file, found.front().token, notes);
  if (o.jwks_file && found.empty()) notes.push_back("--jwks-file not used: no usable token was found");
  return load_keys(control, specs, !found.empty(), o.jwks_file.has_value(),
                   std::chrono::milliseconds(g.config.auth.startup_timeout_ms));
}

// The request as the gateway would have read it: method, origin-form target, Host and fields.
http::RequestHead request_head(const Request& request, std::vector<http::Field> fields) {
  http::RequestHead head;
  head.method = request.method;
  head.host = request.host;
  head.target = request.path + (request.query.empty() ? "" : "?" + request.query);
  head.fields = std::move(fields);
  for (const http::Field& f : head.fields) {
    if (http::iequals(f.first, "connection"))
      http::for_each_list_member(f.second, [&](std::string_view o) { head.connection_options.push_back(o); });
  }
  return head;
}

// Explain runs on the operator's machine: it asks as a client on loopback would (which is what
// forward-auth trusts by default).
constexpr std::array<std::uint8_t, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};

void explain_auth(Report& r, Gateway& g, const Options& o, const plan::PlanInput& input, plan::RequestPlan& plan) {
  const policy::RouteSpec& route = *r.match->route;
  std::vector<auth::FoundToken> tokens;
  std::string protocol_token;
  const auth::TokenRequest lookup{input.head.fields, r.request.query, http::is_websocket_upgrade(input.head)};
  if (auto found = auth::find_tokens(g.config.auth.token_sources, lookup, tokens, protocol_token); !found) {
    r.token_error = found.error();
    tokens.clear();
  }

  net::io_context control;
  const Providers providers = provider_keys(control, g, o, tokens, r.notes);
  auto authenticator = std::make_shared<const auth::Authenticator>(g.config.auth, providers.keys);
  g.runtime.authenticator = authenticator;
  // The providers' timers belong to `control`: nothing may hold them past this function.
  struct Release {
    Gateway& g;
    ~Release() { g.runtime.authenticator.reset(); }
  } release{g};
  auth::TokenVerifier verifier(authenticator, 0);
  for (const auth::FoundToken& t : tokens) r.tokens.push_back(inspect_token(t, verifier, providers, r.now));

  // The verdict is the gateway's own decision; the refetch an unknown kid may trigger is only noted.
  plan::authorize_request(input, verifier, plan);
  r.forwarded = plan.action == plan::RequestPlan::Action::Forward;
  r.upgrade = r.forwarded && plan.upgrade;
  r.outcome = plan.outcome();
  r.reason = plan.reason();
  r.reply = plan.reply;
  if (r.forwarded && plan.auth.identity) r.injected = authenticator->claim_headers().values_for(*plan.auth.identity);
  if ((plan.outcome() == "allow" || plan.outcome() == "forbidden") && !r.tokens.empty() && r.tokens.front().identity) {
    const auth::Identity& id = *r.tokens.front().identity;
    r.evaluation = policy::evaluate(route.require,
                                    policy::Subject{id.token.claims, id.roles, id.scopes, input.client_certificate},
                                    r.match->captures, policy::TraceMode::On);
  } else if (route.auth == policy::AuthMode::Anonymous && policy::is_certificate_only(route.require)) {
    const Claims none;
    const std::vector<std::string> no_names;
    r.evaluation = policy::evaluate(route.require, policy::Subject{none, no_names, no_names, input.client_certificate},
                                    r.match->captures, policy::TraceMode::On);
  }
  // As configured: a --jwks-file stand-in does not change what the gateway would do.
  if (!r.tokens.empty() && r.tokens.front().result == "unknown_kid" &&
      g.config.providers[*r.tokens.front().provider_index].source == keys::KeySourceKind::JwksUrl)
    r.notes.push_back("on an unknown kid the gateway refetches the JWKS once (at most every min_refresh_interval_s) "
                      "and waits up to unknown_kid_wait_ms; explain has just loaded the current keys");
}

Report explain(Gateway& g, const Options& o, const tls::PeerCertificate* certificate) {
  Report r;
  r.request = make_request(o, g.config.auth);
  r.now = o.now.value_or(std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
  const http::RequestHead head = request_head(r.request, r.request.header_views());
  const std::vector<std::string> uris = certificate ? certificate->uris : std::vector<std::string>();
  const std::vector<std::string> dns = certificate ? certificate->dns : std::vector<std::string>();
  const policy::ClientCertificate facts{certificate ? std::string_view(certificate->subject) : std::string_view(), uris, dns};
  if (certificate)
    r.notes.push_back("client certificate \"" + certificate->subject + "\" taken as verified by a TLS listener (--client-cert)");
  const plan::PlanInput input{g.runtime,  head,  kLoopback, r.now, false, false, certificate ? &facts : nullptr,
                              certificate ? std::string_view(certificate->thumbprint) : std::string_view()};
  plan::RequestPlan plan;
  plan::route_request(input, plan);
  if (plan.path_error) {
    r.path_error = plan.path_error;
    r.outcome = "rejected_path";
    r.reason = policy::to_string(*plan.path_error);
    r.reply = plan.reply;
    return r;
  }
  if (!plan.normalized_path.empty()) {
    r.normalized_path = plan.normalized_path;
    r.routes = g.runtime.routes.explain_match(plan.method, plan.host, plan.normalized_path);
  }
  if (plan.action != plan::RequestPlan::Action::Forward) {
    r.outcome = plan.route.route || plan.normalized_path.empty() ? "rejected" : "no_route";
    r.reason = r.outcome == "no_route" ? "no_route" : plan.reply.error;
    r.reply = plan.reply;
    return r;
  }
  r.match = plan.route;
  explain_auth(r, g, o, input, plan);
  return r;
}

// ---------------------------------------------------------------------------- text output

std::string utc(std::int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  char buf[32] = "?";
  if (::gmtime_r(&t, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string describe_match(const policy::RouteMatch& m) {
  std::string out = m.path          ? "path \"" + *m.path + "\""
                    : m.path_prefix ? "path_prefix \"" + *m.path_prefix + "\""
                    : m.path_glob   ? "path_glob \"" + *m.path_glob + "\""
                                    : "path_regex \"" + m.path_regex.value_or("") + "\"";
  if (!m.methods.empty()) {
    out += ", methods [";
    for (std::size_t i = 0; i < m.methods.size(); ++i) out += (i ? ", " : "") + m.methods[i];
    out += ']';
  }
  if (m.host) out += ", host \"" + *m.host + "\"";
  return out;
}

std::string describe_websocket(const policy::WebSocketSettings& w) {
  return "(idle_timeout_ms " + std::to_string(w.idle_timeout_ms) +
         (w.close_at_token_expiry ? ", close_at_token_expiry)" : ")");
}

std::string relative_to_now(std::int64_t delta) {
  if (delta == 0) return "now";
  return delta < 0 ? std::to_string(-delta) + " s before now" : std::to_string(delta) + " s after now";
}

// "exp: 1700000000 (2023-11-14T22:13:20Z, 60 s after now)" for the registered time claims.
std::string claim_line(const std::string& name, const ClaimValue& value, std::int64_t now) {
  std::string line = name + ": " + to_json(value);
  if ((name == "exp" || name == "nbf" || name == "iat") && value.is_integer())
    line += " (" + utc(value.as_integer()) + ", " + relative_to_now(value.as_integer() - now) + ")";
  return line;
}

void print_token(std::string& out, const TokenReport& t, std::int64_t now) {
  out += "token:     " + t.source + "\n";
  if (!t.decode_error.empty()) {
    out += "  cannot decode: " + t.decode_error + "\n";
  } else {
    out += "  header:  " + to_json(t.header) + "\n  claims (decoded, not yet verified):\n";
    for (const auto& [name, value] : t.claims.as_object()) out += "    " + claim_line(name, value, now) + "\n";
  }
  out += "  provider: " + (t.provider.empty() ? std::string("none has this issuer") : t.provider) + "\n";
  if (!t.keys.empty()) out += "  keys:    " + t.keys + "\n";
  if (t.reason.empty()) {
    out += "  result:  " + t.result + "\n";
  } else {
    out += "  result:  not verified: " + t.reason + " - " + std::string(describe_reason(t.reason)) + "\n";
  }
}

void print_requirements(std::string& out, const Report& r) {
  if (!r.match || r.match->route->auth == policy::AuthMode::Anonymous) return;
  if (!r.evaluation) {
    out += "requirements: not evaluated (the gateway stops at outcome " + r.outcome + ")\n";
    return;
  }
  const policy::Decision d = r.evaluation->decision;
  out += d == policy::Decision::Allow ? "requirements: pass\n" : "requirements: fail: " + std::string(policy::to_string(d)) + "\n";
  for (const std::string& line : r.evaluation->trace) out += "  " + line + "\n";
}

void print_answer(std::string& out, const Report& r) {
  const std::string why = "outcome " + r.outcome + ", reason " + r.reason;
  if (r.forwarded) {
    out += "answer:    forwarded to upstream \"" + r.match->route->upstream + "\"" +
           (r.upgrade ? " as a WebSocket handshake (a 101 opens a tunnel)" : "") + " (" + why + ")\n";
  } else {
    out += "answer:    " + std::to_string(r.reply.status) + " " + r.reply.error + " (" + why + ")\n";
    for (const auto& [name, value] : r.reply.headers) out += "  " + name + ": " + value + "\n";
    out += "  body: " + r.reply.json_body();
  }
  if (const auto text = describe_reason(r.reason); !text.empty()) out += "  why: " + std::string(text) + "\n";
  if (!r.forwarded) return;
  out += r.injected.empty() ? "headers:   none injected (no identity)\n" : "headers:   injected upstream:\n";
  for (const auto& [name, value] : r.injected) out += "  " + name + ": " + value + "\n";
}

void print_routes(std::string& out, const Report& r) {
  out += "routes:\n";
  for (const policy::RouteTrace& t : r.routes) {
    out += "  #" + std::to_string(t.index) + " " + t.route->name + " (" + describe_match(t.route->match) + "): ";
    if (t.miss != policy::RouteMiss::None) {
      out += "no: " + t.why_not + "\n";
      continue;
    }
    out += "MATCH: upstream \"" + t.route->upstream + "\", auth " + std::string(policy::to_string(t.route->auth));
    if (!t.route->providers.empty()) {
      out += ", providers";
      for (const std::string& p : t.route->providers) out += " " + p;
    }
    if (t.route->websocket.enabled) out += ", websocket " + describe_websocket(t.route->websocket);
    out += "\n";
  }
  if (!r.match) out += "  no route matches\n";
}

std::string render_text(const Report& r) {
  const Request& q = r.request;
  std::string out = "request:   " + q.method + " " + q.path + (q.query.empty() ? "" : "?(query not shown)") + ", host " +
                    (q.host.empty() ? std::string("(none)") : "\"" + q.host + "\"") + ", now " + std::to_string(r.now) +
                    " (" + utc(r.now) + ")\n";
  if (r.path_error) {
    out += "path:      rejected: " + std::string(policy::to_string(*r.path_error)) + " - " +
           std::string(policy::describe(*r.path_error)) + "\n";
  } else {
    out += "path:      " + *r.normalized_path + (*r.normalized_path == q.path ? "\n" : " (normalised)\n");
    print_routes(out, r);
  }
  if (r.match) {
    if (r.token_error)
      out += "token:     unusable: " + std::string(auth::to_string(*r.token_error)) + " - " +
             std::string(auth::describe(*r.token_error)) + "\n";
    if (r.tokens.empty() && !r.token_error) out += "token:     none found\n";
    for (const TokenReport& t : r.tokens) print_token(out, t, r.now);
    print_requirements(out, r);
  }
  print_answer(out, r);
  for (const std::string& note : r.notes) out += "note:      " + note + "\n";
  return out;
}

// ---------------------------------------------------------------------------- JSON output

ClaimValue strings(const std::vector<std::string>& items) {
  return ClaimValue(ClaimValue::Array(items.begin(), items.end()));
}

ClaimValue fields(const Fields& items) {
  ClaimValue::Array out;
  for (const auto& [name, value] : items) out.emplace_back(ClaimValue::Array{name, value});
  return ClaimValue(std::move(out));
}

ClaimValue or_null(std::string_view text) { return text.empty() ? ClaimValue() : ClaimValue(text); }

ClaimValue json_routes(const Report& r) {
  ClaimValue::Array out;
  for (const policy::RouteTrace& t : r.routes) {
    out.emplace_back(ClaimValue::Object{{"index", static_cast<std::int64_t>(t.index)},
                                        {"name", t.route->name},
                                        {"match", describe_match(t.route->match)},
                                        {"matched", t.miss == policy::RouteMiss::None},
                                        {"miss", or_null(t.miss == policy::RouteMiss::None ? "" : policy::to_string(t.miss))},
                                        {"why_not", or_null(t.why_not)}});
  }
  return ClaimValue(std::move(out));
}

ClaimValue json_websocket(const policy::WebSocketSettings& w) {
  if (!w.enabled) return ClaimValue(false);
  return ClaimValue::Object{{"close_at_token_expiry", w.close_at_token_expiry}, {"idle_timeout_ms", w.idle_timeout_ms}};
}

ClaimValue json_route(const Report& r) {
  if (!r.match) return {};
  const policy::RouteSpec& route = *r.match->route;
  return ClaimValue::Object{{"name", route.name},
                            {"upstream", route.upstream},
                            {"auth", policy::to_string(route.auth)},
                            {"providers", strings(route.providers)},
                            {"captures", strings(r.match->captures)},
                            {"websocket", json_websocket(route.websocket)}};
}

ClaimValue json_token(const TokenReport& t) {
  return ClaimValue::Object{{"source", t.source},
                            {"decode_error", or_null(t.decode_error)},
                            {"header", t.header},
                            {"claims", t.claims},
                            {"provider", or_null(t.provider)},
                            {"keys", or_null(t.keys)},
                            {"result", t.result},
                            {"reason", or_null(t.reason)},
                            {"description", or_null(describe_reason(t.reason))}};
}

ClaimValue json_requirements(const Report& r) {
  if (!r.evaluation) return {};
  return ClaimValue::Object{{"decision", policy::to_string(r.evaluation->decision)},
                            {"required_scopes", strings(r.evaluation->required_scopes)},
                            {"trace", strings(r.evaluation->trace)}};
}

ClaimValue json_answer(const Report& r) {
  ClaimValue::Object out{{"forwarded", r.forwarded},
                         {"outcome", r.outcome},
                         {"reason", r.reason},
                         {"description", or_null(describe_reason(r.reason))}};
  if (r.forwarded) {
    out.emplace_back("upstream", r.match->route->upstream);
    out.emplace_back("upgrade", r.upgrade);
    out.emplace_back("injected_headers", fields(r.injected));
    return out;
  }
  out.emplace_back("status", static_cast<std::int64_t>(r.reply.status));
  out.emplace_back("error", r.reply.error);
  out.emplace_back("error_description", r.reply.description);
  out.emplace_back("headers", fields(r.reply.headers));
  return out;
}

std::string render_json(const Report& r) {
  const Request& q = r.request;
  ClaimValue::Array tokens;
  for (const TokenReport& t : r.tokens) tokens.push_back(json_token(t));
  const ClaimValue::Object path =
      r.path_error ? ClaimValue::Object{{"rejected", policy::to_string(*r.path_error)},
                                        {"description", policy::describe(*r.path_error)}}
                   : ClaimValue::Object{{"normalized", *r.normalized_path}};
  const ClaimValue::Object report{
      {"request", ClaimValue::Object{{"method", q.method}, {"host", q.host}, {"path", q.path}, {"now", r.now}}},
      {"path", path},
      {"routes", json_routes(r)},
      {"route", json_route(r)},
      {"token_error", r.token_error ? ClaimValue(auth::to_string(*r.token_error)) : ClaimValue()},
      {"tokens", std::move(tokens)},
      {"requirements", json_requirements(r)},
      {"answer", json_answer(r)},
      {"notes", strings(r.notes)}};
  return to_json(ClaimValue(report)) + "\n";
}

Result<Gateway, std::string> load_gateway(const std::string& path) {
  auto loaded = config::load_config_file(path);
  if (!loaded) return fail(config::format_errors(path, loaded.error()));
  auto routes = policy::RouteTable::compile(loaded->routes);
  if (!routes) return fail(path + ": routes: " + routes.error() + "\n");
  Gateway g{std::move(*loaded), {}};
  g.runtime.settings = g.config.proxy;
  g.runtime.routes = std::move(*routes);
  g.runtime.path_options = g.config.path_options;
  return g;
}

}  // namespace

int run_explain(const std::vector<std::string_view>& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  auto options = parse_args(args);
  if (!options) {
    std::cerr << "claimgate explain: " << options.error() << '\n' << kUsage;
    return 2;
  }
  auto gateway = load_gateway(options->config_path);
  if (!gateway) {
    std::cerr << gateway.error();
    return 1;
  }
  std::optional<tls::PeerCertificate> certificate;
  if (options->client_cert_file) {
    auto read = tls::read_certificate_file(*options->client_cert_file);
    if (!read) {
      std::cerr << "claimgate explain: --client-cert " << read.error() << '\n';
      return 1;
    }
    certificate = std::move(*read);
  }
  log::set_level(log::Level::Warn);  // key fetch failures stay visible on stderr
  const Report report = explain(*gateway, *options, certificate ? &*certificate : nullptr);
  std::cout << (options->json ? render_json(report) : render_text(report));
  return 0;
}

}  // namespace claimgate::tools
