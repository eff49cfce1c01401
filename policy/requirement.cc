#include "policy/requirement.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "core/ascii.h"

namespace claimgate::policy {
namespace {

// A claim's scalar text under the comparison rule, without allocating; `buffer` holds integers.
std::optional<std::string_view> scalar_view(const ClaimValue& value, std::array<char, 24>& buffer) {
  if (value.is_string()) return std::string_view(value.as_string());
  if (value.is_bool()) return value.as_bool() ? std::string_view("true") : std::string_view("false");
  if (value.is_integer()) {
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.as_integer());
    return std::string_view(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  }
  return std::nullopt;
}

// True when `value`, or any element of an array `value`, has a scalar text satisfying `test`.
template <class Test>
bool any_scalar(const ClaimValue* value, const Test& test) {
  if (!value) return false;
  std::array<char, 24> buffer;
  if (value->is_array()) {
    return std::any_of(value->as_array().begin(), value->as_array().end(), [&](const ClaimValue& item) {
      const auto text = scalar_view(item, buffer);
      return text && test(*text);
    });
  }
  const auto text = scalar_view(*value, buffer);
  return text && test(*text);
}

void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  out += text;
  out += '"';
}

// Claim values in traces are cut short: tokens may carry large claims.
constexpr std::size_t kMaxRenderedValue = 200;

void render(const ClaimValue& value, std::string& out) {
  if (out.size() > kMaxRenderedValue) return;
  std::array<char, 24> buffer;
  if (value.is_string()) {
    append_quoted(out, value.as_string());
  } else if (const auto text = scalar_view(value, buffer)) {
    out += *text;
  } else if (value.is_double()) {
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.as_number());
    out.append(buffer.data(), end);
  } else if (value.is_null()) {
    out += "null";
  } else if (value.is_array()) {
    out += '[';
    for (const ClaimValue& item : value.as_array()) {
      if (out.back() != '[') out += ", ";
      render(item, out);
    }
    out += ']';
  } else {
    out += '{';
    for (const auto& [name, member] : value.as_object()) {
      if (out.back() != '{') out += ", ";
      append_quoted(out, name);
      out += ": ";
      render(member, out);
    }
    out += '}';
  }
}

std::string render(const ClaimValue* value) {
  if (!value) return "absent";
  std::string out;
  render(*value, out);
  if (out.size() > kMaxRenderedValue) out.replace(kMaxRenderedValue, std::string::npos, "...");
  return out;
}

std::string render_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (const std::string& name : names) {
    if (out.size() > 1) out += ", ";
    out += name;
  }
  return out + "]";
}

bool contains(const std::vector<std::string>& held, const std::string& name) {
  return std::find(held.begin(), held.end(), name) != held.end();
}

struct Outcome {
  Decision decision = Decision::Allow;
  const std::vector<std::string>* scopes = nullptr;  // set with MissingScope
};

class Evaluator {
 public:
  Evaluator(const Subject& subject, const std::vector<std::string>& captures, std::vector<std::string>* trace)
      : subject_(subject), captures_(captures), trace_(trace) {}

  Outcome run(const Requirement& r, std::size_t depth) {
    using Kind = Requirement::Kind;
    switch (r.kind) {
      case Kind::All:
      case Kind::Any: return combine(r, depth);
      case Kind::RolesAny:
      case Kind::RolesAll: return check_names(r, depth, subject_.roles, "roles", Decision::MissingRole);
      case Kind::ScopesAny:
      case Kind::ScopesAll: return check_names(r, depth, subject_.scopes, "scopes", Decision::MissingScope);
      case Kind::Claim: {
        const ClaimValue* value = subject_.claims.find(r.claim);
        const bool pass = r.condition.matches(value);
        if (trace_) note(depth, pass, "claims " + r.claim + " " + r.condition.describe(), render(value));
        return pass ? Outcome{} : Outcome{Decision::ClaimMismatch};
      }
      case Kind::PathClaim: {
        const ClaimValue* value = subject_.claims.find(r.claim);
        const std::string_view capture = r.capture < captures_.size() ? captures_[r.capture] : std::string_view();
        const bool pass = !capture.empty() && any_scalar(value, [&](std::string_view text) { return text == capture; });
        if (trace_) {
          std::string what = "path_claims " + r.claim + " == capture " + std::to_string(r.capture) + " ";
          append_quoted(what, capture);
          note(depth, pass, what, render(value));
        }
        return pass ? Outcome{} : Outcome{Decision::PathBindingMismatch};
      }
      case Kind::ClientCertificate: return check_certificate(r, depth);
    }
    return Outcome{Decision::ClaimMismatch};
  }

 private:
  Outcome check_certificate(const Requirement& r, std::size_t depth) {
    const ClientCertificate* c = subject_.client_certificate;
    std::string what = "client_certificate";
    if (trace_) {
      what += " subject " + r.condition.describe();
      if (!r.certificate_uri.empty()) what += " uri == " + r.certificate_uri;
      if (!r.certificate_dns.empty()) what += " dns == " + r.certificate_dns;
    }
    if (!c) {
      if (trace_) note(depth, false, what, "no verified client certificate");
      return Outcome{Decision::MissingClientCertificate};
    }
    const bool dns_ok = r.certificate_dns.empty() ||
                        std::any_of(c->dns.begin(), c->dns.end(), [&](const std::string& d) { return ascii::iequals(d, r.certificate_dns); });
    const bool uri_ok = r.certificate_uri.empty() || std::find(c->uris.begin(), c->uris.end(), r.certificate_uri) != c->uris.end();
    const bool pass = r.condition.matches_text(c->subject) && uri_ok && dns_ok;
    if (trace_) note(depth, pass, what, "subject \"" + std::string(c->subject) + "\"");
    return pass ? Outcome{} : Outcome{Decision::ClientCertificateMismatch};
  }

  Outcome combine(const Requirement& r, std::size_t depth) {
    const bool is_all = r.kind == Requirement::Kind::All;
    const std::size_t line = reserve_line();
    std::optional<Outcome> failure;
    bool passed = false;
    for (const Requirement& child : r.children) {
      const Outcome o = run(child, depth + 1);
      if (o.decision == Decision::Allow) {
        passed = true;
        if (!is_all && !trace_) break;
        continue;
      }
      if (!failure || (!is_all && failure->decision != Decision::MissingScope && o.decision == Decision::MissingScope))
        failure = o;
      if (is_all && !trace_) break;
    }
    // An empty `all` allows; an empty `any` has nothing to pass with.
    const bool pass = is_all ? !failure : passed;
    if (trace_) {
      (*trace_)[line] = indent(depth) + std::string(to_string(r.kind)) + (pass ? ": pass" : ": fail");
      if (r.children.empty()) (*trace_)[line] += is_all ? " (no requirement)" : " (no alternative)";
    }
    if (pass) return Outcome{};
    return failure.value_or(Outcome{Decision::ClaimMismatch});
  }

  Outcome check_names(const Requirement& r, std::size_t depth, const std::vector<std::string>& held,
                      std::string_view what, Decision missing) {
    const bool all = r.kind == Requirement::Kind::RolesAll || r.kind == Requirement::Kind::ScopesAll;
    const auto has = [&](const std::string& name) { return contains(held, name); };
    const bool pass = all ? std::all_of(r.names.begin(), r.names.end(), has)
                          : std::any_of(r.names.begin(), r.names.end(), has);
    if (trace_)
      note(depth, pass, std::string(to_string(r.kind)) + " " + render_list(r.names),
           std::string(what) + ": " + render_list(held));
    if (pass) return Outcome{};
    return Outcome{missing, missing == Decision::MissingScope ? &r.names : nullptr};
  }

  std::size_t reserve_line() {
    if (!trace_) return 0;
    trace_->emplace_back();
    return trace_->size() - 1;
  }

  // Callers check trace_ first, so that no line is built without a trace.
  void note(std::size_t depth, bool pass, const std::string& what, const std::string& seen) {
    trace_->push_back(indent(depth) + what + (pass ? ": pass (" : ": fail (") + seen + ")");
  }

  static std::string indent(std::size_t depth) { return std::string(depth * 2, ' '); }

  const Subject& subject_;
  const std::vector<std::string>& captures_;
  std::vector<std::string>* trace_;
};

Requirement leaf(Requirement::Kind kind, std::vector<std::string> names) {
  Requirement r;
  r.kind = kind;
  r.names = std::move(names);
  return r;
}

Requirement combinator(Requirement::Kind kind, std::vector<Requirement> children) {
  Requirement r;
  r.kind = kind;
  r.children = std::move(children);
  return r;
}

}  // namespace

ClaimCondition ClaimCondition::equals(std::string text) { return one_of({std::move(text)}); }

ClaimCondition ClaimCondition::one_of(std::vector<std::string> texts) {
  ClaimCondition c;
  c.kind_ = Kind::Equals;
  c.texts_ = std::move(texts);
  return c;
}

ClaimCondition ClaimCondition::exists(bool present) {
  ClaimCondition c;
  c.kind_ = present ? Kind::Exists : Kind::Absent;
  return c;
}

Result<ClaimCondition, std::string> ClaimCondition::regex(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!compiled->ok()) return fail(compiled->error());
  ClaimCondition c;
  c.kind_ = Kind::Regex;
  c.texts_ = {std::string(pattern)};
  c.regex_ = std::move(compiled);
  return c;
}

bool ClaimCondition::matches(const ClaimValue* value) const {
  switch (kind_) {
    case Kind::Exists: return value && !value->is_null();
    case Kind::Absent: return !value || value->is_null();
    case Kind::Equals:
      return any_scalar(value, [&](std::string_view text) { return std::find(texts_.begin(), texts_.end(), text) != texts_.end(); });
    case Kind::Regex:
      return any_scalar(value, [&](std::string_view text) {
        return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex_);
      });
  }
  return false;
}

bool ClaimCondition::matches_text(std::string_view text) const {
  switch (kind_) {
    case Kind::Exists: return true;
    case Kind::Absent: return false;
    case Kind::Equals: return std::find(texts_.begin(), texts_.end(), text) != texts_.end();
    case Kind::Regex: return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex_);
  }
  return false;
}

std::string ClaimCondition::describe() const {
  switch (kind_) {
    case Kind::Exists: return "exists";
    case Kind::Absent: return "absent";
    case Kind::Regex: {
      std::string out = "~ ";
      append_quoted(out, texts_.front());
      return out;
    }
    case Kind::Equals: {
      std::string out = texts_.size() == 1 ? "== " : "in [";
      for (std::size_t i = 0; i < texts_.size(); ++i) {
        if (i > 0) out += ", ";
        append_quoted(out, texts_[i]);
      }
      return texts_.size() == 1 ? out : out + "]";
    }
  }
  return "?";
}

Requirement Requirement::all(std::vector<Requirement> children) { return combinator(Kind::All, std::move(children)); }
Requirement Requirement::any(std::vector<Requirement> children) { return combinator(Kind::Any, std::move(children)); }
Requirement Requirement::roles_any(std::vector<std::string> roles) { return leaf(Kind::RolesAny, std::move(roles)); }
Requirement Requirement::roles_all(std::vector<std::string> roles) { return leaf(Kind::RolesAll, std::move(roles)); }
Requirement Requirement::scopes_any(std::vector<std::string> scopes) { return leaf(Kind::ScopesAny, std::move(scopes)); }
Requirement Requirement::scopes_all(std::vector<std::string> scopes) { return leaf(Kind::ScopesAll, std::move(scopes)); }

Requirement Requirement::claim_is(std::string dotted_path, ClaimCondition condition) {
  Requirement r;
  r.kind = Kind::Claim;
  r.claim = std::move(dotted_path);
  r.condition = std::move(condition);
  return r;
}

Requirement Requirement::path_claim(std::string dotted_path, std::size_t capture) {
  Requirement r;
  r.kind = Kind::PathClaim;
  r.claim = std::move(dotted_path);
  r.capture = capture;
  return r;
}

Requirement Requirement::client_certificate(ClaimCondition subject, std::string uri, std::string dns) {
  Requirement r;
  r.kind = Kind::ClientCertificate;
  r.condition = std::move(subject);
  r.certificate_uri = std::move(uri);
  r.certificate_dns = std::move(dns);
  return r;
}

bool is_certificate_only(const Requirement& r) {
  if (r.kind == Requirement::Kind::ClientCertificate) return true;
  if (r.kind != Requirement::Kind::All && r.kind != Requirement::Kind::Any) return false;
  return !r.children.empty() && std::all_of(r.children.begin(), r.children.end(), is_certificate_only);
}

std::string_view to_string(Requirement::Kind kind) {
  switch (kind) {
    case Requirement::Kind::All: return "all";
    case Requirement::Kind::Any: return "any";
    case Requirement::Kind::RolesAny: return "roles_any";
    case Requirement::Kind::RolesAll: return "roles_all";
    case Requirement::Kind::ScopesAny: return "scopes_any";
    case Requirement::Kind::ScopesAll: return "scopes_all";
    case Requirement::Kind::Claim: return "claims";
    case Requirement::Kind::PathClaim: return "path_claims";
    case Requirement::Kind::ClientCertificate: return "client_certificate";
  }
  return "unknown";
}

std::size_t highest_capture(const Requirement& requirement) {
  std::size_t highest = requirement.kind == Requirement::Kind::PathClaim ? requirement.capture : 0;
  for (const Requirement& child : requirement.children) highest = std::max(highest, highest_capture(child));
  return highest;
}

std::string_view to_string(Decision decision) {
  switch (decision) {
    case Decision::Allow: return "allow";
    case Decision::MissingRole: return "missing_role";
    case Decision::MissingScope: return "missing_scope";
    case Decision::ClaimMismatch: return "claim_mismatch";
    case Decision::PathBindingMismatch: return "path_binding_mismatch";
    case Decision::MissingClientCertificate: return "missing_client_certificate";
    case Decision::ClientCertificateMismatch: return "client_certificate_mismatch";
  }
  return "unknown";
}

std::string_view describe(Decision decision) {
  switch (decision) {
    case Decision::Allow: return "the token meets the route's requirements";
    case Decision::MissingRole: return "the token lacks a role the route requires";
    case Decision::MissingScope: return "the token lacks a scope the route requires";
    case Decision::ClaimMismatch: return "a claim of the token does not have the value the route requires";
    case Decision::PathBindingMismatch: return "a claim of the token does not match the resource named in the path";
    case Decision::MissingClientCertificate: return "the route requires a verified client certificate and the connection has none";
    case Decision::ClientCertificateMismatch: return "the client certificate does not have the subject, URI or DNS name the route requires";
  }
  return "unknown decision";
}

Evaluation evaluate(const Requirement& requirement, const Subject& subject, const std::vector<std::string>& captures,
                    TraceMode mode) {
  Evaluation evaluation;
  Evaluator evaluator(subject, captures, mode == TraceMode::On ? &evaluation.trace : nullptr);
  const Outcome outcome = evaluator.run(requirement, 0);
  evaluation.decision = outcome.decision;
  if (outcome.scopes) evaluation.required_scopes = *outcome.scopes;
  return evaluation;
}

}  // namespace claimgate::policy
