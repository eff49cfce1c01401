#include <algorithm>
#include <optional>
#include <regex>
#include <string>

#include "config/reader.h"
#include "http/request_head.h"

// How claim values written in YAML compare with the JSON values of a token (the rule of
// policy/requirement.h, made strict here): a condition value is text, compared case-sensitively
// with the claim's scalar text, which is a JSON string as-is, an integer in decimal and a boolean
// as true/false. So `tenant_id: org_a` matches "org_a"; `level: 3` matches 3 and "3"; `beta: true`
// matches true and "true". A JSON float, null, object or an absent claim never equals anything;
// an array claim matches when one of its elements does. In YAML, quoting keeps any text as
// written ("007", "1.5", "null"); the unquoted scalars that YAML reads as something other than a
// string or a canonical integer/boolean are rejected, because they could never match as the
// reader expects: floats (1.5, .inf), null (~, null), other boolean spellings (True, FALSE) and
// integers not in plain decimal (+1, 007, 0x1F, 0o17).

namespace claimgate::config {
namespace {

using policy::Requirement;

// Why an unquoted YAML scalar cannot serve as claim text, or empty when it can. The patterns are
// the YAML 1.2 core schema's.
std::string_view plain_scalar_problem(const std::string& text) {
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kOtherBool("True|TRUE|False|FALSE");
  static const std::regex kInt("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  static const std::regex kDecimal("0|-?[1-9][0-9]*");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (std::regex_match(text, kNull)) return "null never equals a claim; use { exists: false } for an absent claim";
  if (std::regex_match(text, kOtherBool)) return "write booleans as true or false";
  if (std::regex_match(text, kInt))
    return std::regex_match(text, kDecimal) ? "" : "write integers in plain decimal, or quote the value to compare it as text";
  if (std::regex_match(text, kFloat)) return "a float never equals a claim; quote the value to compare it as text";
  return {};
}

bool read_claim_text(Reader& r, const YAML::Node& node, const std::string& key, std::string& out) {
  if (!node.IsScalar() && !node.IsNull()) {
    r.error(node, key, "must be a string, an integer or a boolean");
    return false;
  }
  const std::string text = node.IsNull() ? std::string() : node.Scalar();
  // yaml-cpp tags quoted scalars "!" and plain ones "?".
  if (node.Tag() != "!") {
    if (const std::string_view problem = plain_scalar_problem(text); !problem.empty()) {
      r.error(node, key, std::string(problem));
      return false;
    }
  }
  out = text;
  return true;
}

// scalar: equality; list: one of; { exists: bool } or { regex: "..." }.
std::optional<policy::ClaimCondition> read_claim_condition(Reader& r, const YAML::Node& node, const std::string& key) {
  if (node.IsSequence()) {
    if (node.size() == 0) {
      r.error(node, key, "must list at least one value");
      return std::nullopt;
    }
    std::vector<std::string> texts(node.size());
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i)
      ok = read_claim_text(r, node[i], key + "[" + std::to_string(i) + "]", texts[i]) && ok;
    if (!ok) return std::nullopt;
    return policy::ClaimCondition::one_of(std::move(texts));
  }
  if (node.IsMap()) {
    if (!r.check_map(node, key, {"exists", "regex"})) return std::nullopt;
    if (node.size() != 1) {
      r.error(node, key, "needs exactly one of exists, regex");
      return std::nullopt;
    }
    if (auto n = node["exists"]) {
      bool present = true;
      if (!r.read_bool(n, key + ".exists", present)) return std::nullopt;
      return policy::ClaimCondition::exists(present);
    }
    if (auto n = node["regex"]) {
      std::string pattern;
      if (!r.read_string(n, key + ".regex", pattern)) return std::nullopt;
      auto condition = policy::ClaimCondition::regex(pattern);
      if (!condition) {
        r.error(n, key + ".regex", "invalid RE2 pattern: " + condition.error());
        return std::nullopt;
      }
      return std::move(*condition);
    }
    return std::nullopt;
  }
  std::string text;
  if (!read_claim_text(r, node, key, text)) return std::nullopt;
  return policy::ClaimCondition::equals(std::move(text));
}

std::vector<std::string> read_names(Reader& r, const YAML::Node& node, const std::string& key) {
  std::vector<std::string> names;
  if (r.read_string_list(node, key, names) && names.empty()) r.error(node, key, "must list at least one name");
  return names;
}

Requirement read_requirement(Reader& r, const YAML::Node& node, const std::string& key);

// client_certificate: { subject_regex, uri, dns }, each optional, all given must match.
std::optional<Requirement> read_client_certificate(Reader& r, const YAML::Node& node, const std::string& key) {
  if (!r.check_map(node, key, {"subject_regex", "uri", "dns"})) return std::nullopt;
  policy::ClaimCondition subject = policy::ClaimCondition::exists();
  std::string uri;
  std::string dns;
  bool ok = true;
  if (auto n = node["subject_regex"]) {
    std::string pattern;
    ok = r.read_string(n, key + ".subject_regex", pattern);
    if (ok) {
      auto regex = policy::ClaimCondition::regex(pattern);
      if (regex) {
        subject = std::move(*regex);
      } else {
        r.error(n, key + ".subject_regex", "is not a valid RE2 pattern: " + regex.error());
        ok = false;
      }
    }
  }
  if (auto n = node["uri"]) ok = r.read_string(n, key + ".uri", uri) && ok;
  if (auto n = node["dns"]) ok = r.read_string(n, key + ".dns", dns) && ok;
  if (!ok) return std::nullopt;
  return Requirement::client_certificate(std::move(subject), std::move(uri), std::move(dns));
}

bool uses_client_certificate(const Requirement& r) {
  return r.kind == Requirement::Kind::ClientCertificate ||
         std::any_of(r.children.begin(), r.children.end(), uses_client_certificate);
}

std::vector<Requirement> read_alternatives(Reader& r, const YAML::Node& node, const std::string& key) {
  std::vector<Requirement> children;
  if (!node.IsSequence() || node.size() == 0) {
    r.error(node, key, "must be a non-empty list of requirements");
    return children;
  }
  for (std::size_t i = 0; i < node.size(); ++i)
    children.push_back(read_requirement(r, node[i], key + "[" + std::to_string(i) + "]"));
  return children;
}

// Several keys in one mapping are ANDed, in the order written; {} allows any valid token.
Requirement read_requirement(Reader& r, const YAML::Node& node, const std::string& key) {
  if (!r.check_map(node, key, {"roles_any", "roles_all", "scopes_any", "scopes_all", "claims", "path_claims", "any", "all",
                               "client_certificate"}))
    return {};
  std::vector<Requirement> parts;
  for (const auto& item : node) {
    const std::string name = item.first.Scalar();
    const YAML::Node& value = item.second;
    const std::string k = Reader::join(key, name);
    if (name == "roles_any") parts.push_back(Requirement::roles_any(read_names(r, value, k)));
    if (name == "roles_all") parts.push_back(Requirement::roles_all(read_names(r, value, k)));
    if (name == "scopes_any") parts.push_back(Requirement::scopes_any(read_names(r, value, k)));
    if (name == "scopes_all") parts.push_back(Requirement::scopes_all(read_names(r, value, k)));
    if (name == "any") parts.push_back(Requirement::any(read_alternatives(r, value, k)));
    if (name == "all") parts.push_back(Requirement::all(read_alternatives(r, value, k)));
    if (name == "client_certificate") {
      if (auto certificate = read_client_certificate(r, value, k)) parts.push_back(std::move(*certificate));
    }
    if (name != "claims" && name != "path_claims") continue;
    if (!value.IsMap() || value.size() == 0) {
      r.error(value, k, name == "claims" ? "must be a non-empty mapping of claim -> value, [values], { exists } or { regex }"
                                         : "must be a non-empty mapping of claim -> capture index");
      continue;
    }
    for (const auto& claim : value) {
      const std::string path = claim.first.Scalar();
      const std::string ck = Reader::join(k, path);
      if (name == "claims") {
        if (auto condition = read_claim_condition(r, claim.second, ck))
          parts.push_back(Requirement::claim_is(path, std::move(*condition)));
      } else if (std::size_t capture = 0; r.read_int(claim.second, ck, capture, 1, 99)) {
        parts.push_back(Requirement::path_claim(path, capture));
      }
    }
  }
  return parts.size() == 1 ? std::move(parts.front()) : Requirement::all(std::move(parts));
}

void read_match(Reader& r, const YAML::Node& m, const std::string& mk, policy::RouteMatch& match) {
  if (!r.check_map(m, mk, {"path", "path_prefix", "path_glob", "path_regex", "methods", "host"})) return;
  const auto read_optional = [&](const char* name, std::optional<std::string>& out) {
    std::string text;
    if (auto n = m[name]; n && r.read_string(n, Reader::join(mk, name), text)) out = std::move(text);
  };
  read_optional("path", match.path);
  read_optional("path_prefix", match.path_prefix);
  read_optional("path_glob", match.path_glob);
  read_optional("path_regex", match.path_regex);
  read_optional("host", match.host);
  if (auto n = m["methods"]; n && r.read_string_list(n, mk + ".methods", match.methods)) {
    for (const std::string& method : match.methods) {
      if (!http::is_token(method)) r.error(n, mk + ".methods", "\"" + method + "\" is not an HTTP method token");
    }
  }
}

// `websocket: true | false` or `websocket: { close_at_token_expiry, idle_timeout_ms }` (a mapping
// turns it on).
void read_websocket(Reader& r, const YAML::Node& node, const std::string& key, policy::WebSocketSettings& out) {
  if (node.IsMap()) {
    if (!r.check_map(node, key, {"close_at_token_expiry", "idle_timeout_ms"})) return;
    out.enabled = true;
    if (auto n = node["close_at_token_expiry"])
      r.read_bool(n, key + ".close_at_token_expiry", out.close_at_token_expiry);
    if (auto n = node["idle_timeout_ms"]) r.read_int(n, key + ".idle_timeout_ms", out.idle_timeout_ms, 1, kMaxMillis);
    return;
  }
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    out.enabled = node.Scalar() == "true";
    return;
  }
  r.error(node, key, "must be true, false or a mapping with close_at_token_expiry, idle_timeout_ms");
}

void read_route(Reader& r, const YAML::Node& node, std::size_t index, const proxy::Settings& settings,
                policy::RouteSpec& route) {
  const std::string key = "routes[" + std::to_string(index) + "]";
  route.name = "route_" + std::to_string(index);
  if (!r.check_map(node, key,
                   {"name", "match", "upstream", "auth", "require", "providers", "bypass_cors_preflight", "websocket"}))
    return;
  if (auto n = node["name"]) r.read_string(n, key + ".name", route.name);

  const std::size_t errors_before_match = r.errors.size();
  if (auto m = node["match"]) {
    read_match(r, m, key + ".match", route.match);
  } else {
    r.error(node, key + ".match", "is required");
  }
  const bool match_read = r.errors.size() == errors_before_match;

  if (auto n = node["upstream"]) {
    if (r.read_string(n, key + ".upstream", route.upstream) && !settings.find_upstream(route.upstream))
      r.error(n, key + ".upstream", "names no entry of upstreams: \"" + route.upstream + "\"");
  } else {
    r.error(node, key + ".upstream", "is required");
  }

  if (auto n = node["auth"]) {
    std::string mode;
    if (r.read_string(n, key + ".auth", mode)) {
      if (const auto parsed = policy::parse_auth_mode(mode)) {
        route.auth = *parsed;
      } else {
        r.error(n, key + ".auth", "must be one of required, optional, anonymous");
      }
    }
  }
  if (auto n = node["require"]) route.require = read_requirement(r, n, key + ".require");
  if (route.auth == policy::AuthMode::Anonymous) {
    if (auto n = node["providers"]) r.error(n, key + ".providers", "has no effect on a route with auth: anonymous");
    // A route without tokens can still require a client certificate.
    if (auto n = node["require"]; n && !policy::is_certificate_only(route.require))
      r.error(n, key + ".require", "has no effect on a route with auth: anonymous");
  }
  if (node["require"] && uses_client_certificate(route.require) &&
      std::none_of(settings.listeners.begin(), settings.listeners.end(),
                   [](const proxy::Listener& l) { return l.tls && !l.tls->client_ca_file.empty(); }))
    r.error(node["require"], key + ".require.client_certificate",
            "no listener asks for client certificates (set tls.client_ca_file on one)");
  if (auto n = node["providers"]) r.read_string_list(n, key + ".providers", route.providers);
  if (auto n = node["bypass_cors_preflight"]) r.read_bool(n, key + ".bypass_cors_preflight", route.bypass_cors_preflight);
  if (auto n = node["websocket"]) read_websocket(r, n, key + ".websocket", route.websocket);

  // What only compiling finds (which path matcher, normalised form, glob and regex syntax, capture
  // numbers): the table is compiled per route so that the error carries this route's line.
  if (match_read) {
    if (auto compiled = policy::RouteTable::compile({route}); !compiled) r.error(node, key, compiled.error());
  }
}

}  // namespace

void read_routes(Reader& r, const YAML::Node& routes, const proxy::Settings& settings,
                 std::vector<policy::RouteSpec>& out) {
  if (!routes.IsSequence() || routes.size() == 0) {
    r.error(routes, "routes", "must be a non-empty list");
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    policy::RouteSpec route;
    read_route(r, routes[i], i, settings, route);
    if (!names.insert(route.name).second)
      r.error(routes[i], "routes[" + std::to_string(i) + "].name", "duplicate route name \"" + route.name + "\"");
    out.push_back(std::move(route));
  }
}

}  // namespace claimgate::config
