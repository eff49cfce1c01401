#include "auth/decision.h"

#include <algorithm>

#include "http/request_head.h"
#include "policy/requirement.h"

namespace claimgate::auth {
namespace {

constexpr std::string_view kRealm = "Bearer realm=\"claimgate\"";

bool is_cors_preflight(const policy::RouteSpec& route, const RequestFacts& r) {
  if (!route.bypass_cors_preflight || r.method != "OPTIONS") return false;
  bool origin = false;
  bool request_method = false;
  for (const auto& [name, value] : r.headers) {
    origin = origin || http::iequals(name, "origin");
    request_method = request_method || http::iequals(name, "access-control-request-method");
  }
  return origin && request_method;
}

void forward(AuthDecision& d, IdentityPtr identity, std::string_view outcome) {
  d.action = AuthDecision::Action::Forward;
  d.identity = std::move(identity);
  d.outcome = outcome;
  d.reason = outcome;
}

void answer(AuthDecision& d, http::LocalReply reply, std::string_view outcome, std::string_view reason) {
  d.action = AuthDecision::Action::Reply;
  d.reply = std::move(reply);
  d.outcome = outcome;
  d.reason = reason;
  d.tokens.clear();
}

http::LocalReply reply_keys_unavailable() {
  return http::reply_service_unavailable("The token issuer's keys are not loaded yet.");
}

// Bearer realm="claimgate", error="<code>", error_description="<reason>"
std::string challenge(std::string_view code, std::string_view reason) {
  std::string out(kRealm);
  out.append(", error=\"").append(code).append("\", error_description=\"").append(reason).append("\"");
  return out;
}

// RFC 8705 section 3: the reason a token's certificate binding fails on this connection, or empty.
std::string_view certificate_binding_failure(const Identity& identity, keys::CertificateBinding mode,
                                             std::string_view thumbprint) {
  if (mode == keys::CertificateBinding::Off) return {};
  const ClaimValue* bound = identity.token.claims.find("cnf.x5t#S256");
  if (!bound || !bound->is_string()) {
    return mode == keys::CertificateBinding::Required ? "missing_certificate_binding" : std::string_view();
  }
  if (thumbprint.empty()) return "missing_client_certificate";
  if (bound->as_string() != thumbprint) return "certificate_thumbprint_mismatch";
  return {};
}

}  // namespace

http::LocalReply reply_missing_token() {
  return {401, "missing_token", "A bearer token is required.", false, {{"WWW-Authenticate", std::string(kRealm)}}};
}

http::LocalReply reply_invalid_token(std::string_view reason) {
  return {401, "invalid_token", std::string(reason), false, {{"WWW-Authenticate", challenge("invalid_token", reason)}}};
}

http::LocalReply reply_invalid_request(std::string_view reason, std::string_view description) {
  return {400, "invalid_request", std::string(description), false,
          {{"WWW-Authenticate", challenge("invalid_request", reason)}}};
}

http::LocalReply reply_insufficient_scope(std::string_view reason, const std::vector<std::string>& scopes) {
  std::string header = challenge("insufficient_scope", reason);
  if (!scopes.empty()) {
    header += ", scope=\"";
    for (std::size_t i = 0; i < scopes.size(); ++i) header.append(i ? " " : "").append(scopes[i]);
    header += '"';
  }
  return {403, "insufficient_scope", std::string(reason), false, {{"WWW-Authenticate", std::move(header)}}};
}

void decide(TokenVerifier& verifier, const policy::RouteSpec& route, const RequestFacts& request, std::int64_t now,
            bool may_wait, AuthDecision& d, bool may_verify_later) {
  d.identity.reset();
  d.provider = 0;
  d.tokens.clear();
  const bool anonymous = route.auth == policy::AuthMode::Anonymous;
  if (is_cors_preflight(route, request)) return forward(d, nullptr, "cors_preflight");
  static const std::vector<std::string> kNoCaptures;
  const std::vector<std::string>& captures = request.captures ? *request.captures : kNoCaptures;
  // An anonymous route's requirements test only the client certificate (config/ makes sure).
  const bool has_requirements = route.require.kind != policy::Requirement::Kind::All || !route.require.children.empty();
  if (anonymous && has_requirements) {
    static const Claims kNoClaims;
    static const std::vector<std::string> kNone;
    const policy::Subject subject{kNoClaims, kNone, kNone, request.client_certificate};
    const policy::Evaluation e = policy::evaluate(route.require, subject, captures, policy::TraceMode::Off);
    if (e.decision != policy::Decision::Allow) {
      const std::string_view reason = policy::to_string(e.decision);
      return answer(d, reply_insufficient_scope(reason, e.required_scopes), "forbidden", reason);
    }
  }

  const Authenticator& authenticator = verifier.authenticator();
  auto found = find_tokens(authenticator.settings().token_sources,
                           TokenRequest{request.headers, request.query, request.websocket_handshake}, d.tokens,
                           d.protocol_token);
  if (!found) {
    d.tokens.clear();
    if (anonymous) return forward(d, nullptr, "anonymous");
    if (found.error() == ExtractionError::MalformedCredentials)
      return answer(d, reply_invalid_token(to_string(found.error())), "invalid_token", to_string(found.error()));
    return answer(d, reply_invalid_request(to_string(found.error()), describe(found.error())), "invalid_request",
                  to_string(found.error()));
  }
  const std::vector<FoundToken>& tokens = d.tokens;
  if (tokens.empty()) {
    if (route.auth == policy::AuthMode::Required) return answer(d, reply_missing_token(), "missing_token", "missing_token");
    return forward(d, nullptr, "anonymous");
  }

  // The first token is the identity; any other, different token must verify too.
  IdentityPtr identity;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i].token;
    if (i > 0 && std::any_of(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(i),
                             [&](const FoundToken& t) { return t.token == token; }))
      continue;
    VerifyOutcome v = verifier.verify(token, now, /*cached_only=*/may_verify_later);
    if (v.status == VerifyStatus::NotCached) {
      d.action = AuthDecision::Action::VerifyLater;
      d.outcome = "verify_later";
      d.reason = "verify_later";
      return;
    }
    if (v.status == VerifyStatus::UnknownKid && may_wait && !anonymous) {
      d.action = AuthDecision::Action::WaitForKeys;
      d.provider = v.provider;
      d.outcome = "waiting_for_keys";
      d.reason = v.reason;
      return;
    }
    if (v.status != VerifyStatus::Verified) {
      if (anonymous) {
        d.tokens.clear();
        return forward(d, nullptr, "anonymous");
      }
      if (v.status == VerifyStatus::NoKeys) return answer(d, reply_keys_unavailable(), "keys_unavailable", v.reason);
      return answer(d, reply_invalid_token(v.reason), "invalid_token", v.reason);
    }
    if (const std::string_view failure = certificate_binding_failure(
            *v.identity, authenticator.provider(v.provider).spec().certificate_bound, request.certificate_thumbprint);
        !failure.empty()) {
      if (anonymous) {
        d.tokens.clear();
        return forward(d, nullptr, "anonymous");
      }
      return answer(d, reply_invalid_token(failure), "invalid_token", failure);
    }
    if (!route.providers.empty()) {
      const std::string& name = authenticator.provider(v.provider).spec().name;
      if (std::find(route.providers.begin(), route.providers.end(), name) == route.providers.end()) {
        if (anonymous) {
          d.tokens.clear();
          return forward(d, nullptr, "anonymous");
        }
        return answer(d, reply_invalid_token("provider_not_allowed"), "invalid_token", "provider_not_allowed");
      }
    }
    if (i == 0) identity = std::move(v.identity);
  }

  if (anonymous) return forward(d, std::move(identity), "anonymous");
  const policy::Subject subject{identity->token.claims, identity->roles, identity->scopes, request.client_certificate};
  const policy::Evaluation evaluation = policy::evaluate(route.require, subject, captures, policy::TraceMode::Off);
  if (evaluation.decision != policy::Decision::Allow) {
    const std::string_view reason = policy::to_string(evaluation.decision);
    return answer(d, reply_insufficient_scope(reason, evaluation.required_scopes), "forbidden", reason);
  }
  return forward(d, std::move(identity), "allow");
}

AuthDecision decide(TokenVerifier& verifier, const policy::RouteSpec& route, const RequestFacts& request,
                    std::int64_t now, bool may_wait, bool may_verify_later) {
  AuthDecision d;
  decide(verifier, route, request, now, may_wait, d, may_verify_later);
  return d;
}

}  // namespace claimgate::auth
