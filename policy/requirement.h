#pragma once
// Authorisation requirements: a tree of role, scope and claim tests, evaluated against the
// claims of a verified token. Built once from config; evaluate() is pure.
//
// Claim comparison rule (strict, text-based): a condition value is text and is compared with the
// claim's scalar text: a JSON string as-is, an integer in decimal, a boolean as true/false.
// Floats, null, objects and absent claims never equal anything. An array-valued claim matches
// when any of its scalar elements does (as Istio does). Comparison is case-sensitive.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/result.h"

namespace re2 {
class RE2;
}

namespace claimgate::policy {

// One test on one claim. A regex is compiled once, when the condition is made.
class ClaimCondition {
 public:
  ClaimCondition() = default;  // "exists"

  static ClaimCondition equals(std::string text);
  static ClaimCondition one_of(std::vector<std::string> texts);
  // `present` false: the claim must be absent (or null).
  static ClaimCondition exists(bool present = true);
  // RE2 syntax, full match against the claim's scalar text; the error is RE2's message.
  static Result<ClaimCondition, std::string> regex(std::string_view pattern);

  // `value` is nullptr when the claim is absent.
  bool matches(const ClaimValue* value) const;
  // The same test on a text that is not a claim (a certificate's subject).
  bool matches_text(std::string_view text) const;
  // For traces: `== "admin"`, `in ["a", "b"]`, `exists`, `absent`, `~ "org_.*"`.
  std::string describe() const;

 private:
  enum class Kind { Equals, Exists, Absent, Regex };
  Kind kind_ = Kind::Exists;
  std::vector<std::string> texts_;  // Equals: any of these; Regex: the pattern
  std::shared_ptr<const re2::RE2> regex_;
};

struct Requirement {
  enum class Kind { All, Any, RolesAny, RolesAll, ScopesAny, ScopesAll, Claim, PathClaim, ClientCertificate };

  Kind kind = Kind::All;               // the default, with no children, allows any valid token
  std::vector<Requirement> children;   // All, Any
  std::vector<std::string> names;      // the roles or scopes of the Roles* and Scopes* kinds
  std::string claim;                   // Claim, PathClaim: dotted path (Claims::find)
  ClaimCondition condition;            // Claim; ClientCertificate: the subject (exists = any)
  std::string certificate_uri;         // ClientCertificate: a SAN URI equal to it, when set
  std::string certificate_dns;         // ClientCertificate: a SAN DNS name equal to it (any case), when set
  std::size_t capture = 0;             // PathClaim: the route capture the claim must equal (>= 1)

  static Requirement all(std::vector<Requirement> children);
  static Requirement any(std::vector<Requirement> children);
  static Requirement roles_any(std::vector<std::string> roles);
  static Requirement roles_all(std::vector<std::string> roles);
  static Requirement scopes_any(std::vector<std::string> scopes);
  static Requirement scopes_all(std::vector<std::string> scopes);
  static Requirement claim_is(std::string dotted_path, ClaimCondition condition);
  // The tenant binding: claim `dotted_path` must equal the route's capture `capture`.
  static Requirement path_claim(std::string dotted_path, std::size_t capture);
  // The connection's verified client certificate; `subject` tests its RFC 2253 subject.
  static Requirement client_certificate(ClaimCondition subject, std::string uri, std::string dns);
};

std::string_view to_string(Requirement::Kind kind);

// The highest capture index a PathClaim in the tree refers to; 0 when there is none.
std::size_t highest_capture(const Requirement& requirement);

// True when the tree holds only ClientCertificate tests (under all/any): such a requirement
// needs no token and may stand on an anonymous route.
bool is_certificate_only(const Requirement& requirement);

// What a requirement sees of a verified client certificate (views into the connection's copy).
struct ClientCertificate {
  std::string_view subject;  // RFC 2253
  std::span<const std::string> uris;
  std::span<const std::string> dns;
};

// roles and scopes are extracted by the caller from the provider's roles_claim / scopes_claim.
struct Subject {
  const Claims& claims;
  const std::vector<std::string>& roles;
  const std::vector<std::string>& scopes;
  const ClientCertificate* client_certificate = nullptr;  // none: the connection has no verified one
};

enum class Decision {
  Allow,
  MissingRole,
  MissingScope,
  ClaimMismatch,
  PathBindingMismatch,
  MissingClientCertificate,
  ClientCertificateMismatch
};

std::string_view to_string(Decision decision);
std::string_view describe(Decision decision);

struct Evaluation {
  Decision decision = Decision::Allow;
  std::vector<std::string> required_scopes;  // of the failing scopes requirement, for scope="..."
  std::vector<std::string> trace;            // one line per requirement checked (claimgate explain)
};

enum class TraceMode { On, Off };

// `all` fails with its first failing child. `any` passes when one child passes; otherwise it fails
// with its first MissingScope child (a client can fix that by asking for scopes), else with its
// first child's failure. With TraceMode::On every child is evaluated so that the trace is
// complete; with Off evaluation short-circuits and the trace stays empty. The decision is the same.
Evaluation evaluate(const Requirement& requirement, const Subject& subject, const std::vector<std::string>& captures,
                    TraceMode mode = TraceMode::On);

}  // namespace claimgate::policy
