#include "plan/request_plan.h"

#include "auth/token_sources.h"
#include "policy/path_normalizer.h"

namespace claimgate::plan {
namespace {

void reply(RequestPlan& out, http::LocalReply r) {
  out.action = RequestPlan::Action::Reply;
  out.reply = std::move(r);
}

// The original request of a forward-auth call: Traefik (and Envoy ext_authz) send
// X-Forwarded-Method/-Host/-Uri, nginx auth_request X-Original-Method/-URI. Returns what is
// missing, or "" when the original request is known.
std::string_view take_forwarded_request(const http::RequestHead& head, RequestPlan& out) {
  auto value = [&](std::string_view a, std::string_view b) -> const std::string_view* {
    if (const std::string_view* v = head.find(a)) return v;
    return head.find(b);
  };
  const std::string_view* uri = value("X-Forwarded-Uri", "X-Original-URI");
  if (!uri || !uri->starts_with('/')) return "Forward-auth needs X-Forwarded-Uri or X-Original-URI with an origin-form path.";
  out.target.assign(*uri);
  if (const std::string_view* method = value("X-Forwarded-Method", "X-Original-Method")) {
    if (!http::is_token(*method)) return "X-Forwarded-Method is not an HTTP method.";
    out.method.assign(*method);
  }
  if (const std::string_view* host = value("X-Forwarded-Host", "X-Original-Host")) out.host.assign(*host);
  return {};
}

std::string_view query_of(std::string_view target) {
  const auto question = target.find('?');
  return question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
}

void plan_forward(const PlanInput& in, bool websocket_handshake, RequestPlan& out) {
  const auth::AuthSettings& settings = in.config.authenticator->settings();
  out.upstream_target.assign(out.normalized_path);
  std::string_view query = query_of(in.head.target);
  std::string stripped_query;
  for (const auth::FoundToken& t : out.auth.tokens) {
    const auth::TokenSource& source = settings.token_sources[t.source_index];
    if (source.kind == auth::TokenSource::Kind::Query) {
      // A token in the URL never travels further.
      stripped_query = auth::remove_query_parameter(query, source.name);
      query = stripped_query;
    } else if (source.kind == auth::TokenSource::Kind::WebSocketProtocol) {
      // Nor one in the subprotocol list: it names no protocol the upstream could select.
      out.strip_protocol_token = true;
    } else if (settings.strip_token) {
      (source.kind == auth::TokenSource::Kind::Header ? out.strip_headers : out.strip_cookies).push_back(source.name);
    }
  }
  if (!query.empty()) out.upstream_target.append("?").append(query);
  out.upgrade = websocket_handshake && out.route.route->websocket.enabled;
  out.action = RequestPlan::Action::Forward;
}

}  // namespace

void plan_request(const PlanInput& in, auth::TokenVerifier& verifier, RequestPlan& out) {
  route_request(in, out);
  if (out.action == RequestPlan::Action::Forward) authorize_request(in, verifier, out);
}

void route_request(const PlanInput& in, RequestPlan& out) {
  const proxy::Settings& s = in.config.settings;
  const http::RequestHead& head = in.head;
  out.action = RequestPlan::Action::Reply;
  out.normalized_path.clear();
  out.path_error.reset();
  out.route = {};
  out.upstream = nullptr;
  out.auth.outcome = {};
  out.auth.reason = {};
  out.auth.identity.reset();
  out.auth.tokens.clear();
  out.upstream_target.clear();
  out.strip_headers.clear();
  out.strip_cookies.clear();
  out.strip_protocol_token = false;
  out.upgrade = false;

  if (s.max_request_body_bytes != 0 && head.content_length && *head.content_length > s.max_request_body_bytes)
    return reply(out, http::reply_body_too_large());

  out.method.assign(head.method);
  out.host.assign(head.host);
  out.target.assign(head.target);
  out.forward_auth = !s.forward_auth.path.empty() && head.path() == s.forward_auth.path;
  if (out.forward_auth) {
    if (!http::is_trusted(s.forward_auth.trusted_sources, in.client_address))
      return reply(out, http::reply_forbidden("Forward-auth requests are accepted only from trusted sources."));
    if (const std::string_view missing = take_forwarded_request(head, out); !missing.empty())
      return reply(out, http::reply_forbidden(missing));
  }

  const std::string_view target = out.target;
  auto path = policy::normalize_path(target.substr(0, target.find('?')), in.config.path_options);
  if (!path) {
    // The request itself was well framed: answer and keep the connection. Forward-auth callers
    // (nginx) only understand 2xx/401/403, so a rejected path is 403 there.
    out.path_error = path.error();
    const std::string description(policy::describe(path.error()));
    return reply(out, out.forward_auth ? http::reply_forbidden(description) : http::reply_rejected_path(description));
  }
  out.normalized_path = std::move(*path);
  auto match = in.config.routes.match(out.method, out.host, out.normalized_path);
  if (!match)
    return reply(out, out.forward_auth ? http::reply_forbidden("No route matches this request.") : http::reply_no_route());
  out.route = std::move(*match);
  out.upstream = s.find_upstream(out.route.route->upstream);
  out.action = RequestPlan::Action::Forward;
}

void authorize_request(const PlanInput& in, auth::TokenVerifier& verifier, RequestPlan& out) {
  const http::RequestHead& head = in.head;
  const bool websocket_handshake = http::is_websocket_upgrade(head);
  const auth::RequestFacts facts{out.method,           head.fields,
                                 query_of(out.target), &out.route.captures,
                                 in.client_certificate, in.certificate_thumbprint,
                                 websocket_handshake};
  auth::decide(verifier, *out.route.route, facts, in.now_unix_s, in.may_wait, out.auth, in.may_verify_later);
  switch (out.auth.action) {
    case auth::AuthDecision::Action::Reply:
      out.action = RequestPlan::Action::Reply;
      out.reply = std::move(out.auth.reply);
      // 400 means nothing to an auth_request caller; the challenge is the same.
      if (out.forward_auth && out.reply.status == 400) out.reply.status = 401;
      return;
    case auth::AuthDecision::Action::WaitForKeys:
      out.action = RequestPlan::Action::WaitForKeys;
      return;
    case auth::AuthDecision::Action::VerifyLater:
      out.action = RequestPlan::Action::VerifyLater;
      return;
    case auth::AuthDecision::Action::Forward:
      break;
  }
  if (out.forward_auth) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (out.auth.identity) headers = in.config.authenticator->claim_headers().values_for(*out.auth.identity);
    return reply(out, http::reply_allowed(std::move(headers)));
  }
  plan_forward(in, websocket_handshake, out);
}

}  // namespace claimgate::plan
