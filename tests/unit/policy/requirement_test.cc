#include <doctest/doctest.h>

#include "core/claims.h"
#include "policy/requirement.h"
#include "printers.h"

using namespace claimgate;
using namespace claimgate::policy;

namespace {
using Strings = std::vector<std::string>;
using R = Requirement;

// The USSO token shape (seeds/usso-getting-started).
Claims usso_claims() {
  return Claims{{"sub", "user:alice123"},
                {"tenant_id", "org_company_a"},
                {"workspace_id", "ws_engineering"},
                {"roles", ClaimValue::Array{"editor"}},
                {"scopes", ClaimValue::Array{"read:users", "write:posts"}}};
}

struct Token {
  Claims claims;
  Strings roles;
  Strings scopes;

  Evaluation check(const Requirement& r, const Strings& captures = {}) const {
    return evaluate(r, Subject{claims, roles, scopes}, captures);
  }
  Decision decide(const Requirement& r, const Strings& captures = {}) const { return check(r, captures).decision; }
};

Token usso() {
  Claims c = usso_claims();
  return Token{c, c.strings_at("roles"), c.strings_at("scopes")};
}

ClaimCondition regex(std::string_view pattern) {
  auto c = ClaimCondition::regex(pattern);
  REQUIRE_MESSAGE(c.has_value(), c.error());
  return *c;
}
}  // namespace

TEST_CASE("an empty requirement allows any valid token") {
  const Token t{};
  CHECK(t.decide(Requirement{}) == Decision::Allow);
  CHECK(t.check(Requirement{}).trace == Strings{"all: pass (no requirement)"});
}

TEST_CASE("roles") {
  const Token t = usso();
  CHECK(t.decide(R::roles_any({"admin", "editor"})) == Decision::Allow);
  CHECK(t.decide(R::roles_any({"admin"})) == Decision::MissingRole);
  CHECK(t.decide(R::roles_all({"editor"})) == Decision::Allow);
  CHECK(t.decide(R::roles_all({"editor", "developer"})) == Decision::MissingRole);
  CHECK(t.check(R::roles_any({"admin"})).required_scopes.empty());
  CHECK(t.check(R::roles_any({"admin"})).trace == Strings{"roles_any [admin]: fail (roles: [editor])"});
  CHECK(Token{}.decide(R::roles_any({"admin"})) == Decision::MissingRole);
}

TEST_CASE("scopes carry the required scopes when missing") {
  const Token t = usso();
  CHECK(t.decide(R::scopes_all({"write:posts"})) == Decision::Allow);
  CHECK(t.decide(R::scopes_any({"admin:all", "read:users"})) == Decision::Allow);
  const Evaluation all = t.check(R::scopes_all({"write:posts", "delete:posts"}));
  CHECK(all.decision == Decision::MissingScope);
  CHECK(all.required_scopes == Strings{"write:posts", "delete:posts"});
  CHECK(all.trace == Strings{"scopes_all [write:posts, delete:posts]: fail (scopes: [read:users, write:posts])"});
  const Evaluation any = t.check(R::scopes_any({"admin:all", "root"}));
  CHECK(any.decision == Decision::MissingScope);
  CHECK(any.required_scopes == Strings{"admin:all", "root"});
  CHECK(t.check(R::scopes_all({"write:posts"})).required_scopes.empty());
}

TEST_CASE("claim equality, one-of, exists, regex") {
  const Token t = usso();
  CHECK(t.decide(R::claim_is("tenant_id", ClaimCondition::equals("org_company_a"))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("tenant_id", ClaimCondition::equals("org_company_b"))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("tenant_id", ClaimCondition::equals("ORG_COMPANY_A"))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("tenant_id", ClaimCondition::one_of({"org_x", "org_company_a"}))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("tenant_id", ClaimCondition::one_of({"org_x", "org_y"}))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("workspace_id", ClaimCondition::exists())) == Decision::Allow);
  CHECK(t.decide(R::claim_is("nope", ClaimCondition::exists())) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("nope", ClaimCondition::exists(false))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("sub", ClaimCondition::exists(false))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("sub", regex("user:[a-z0-9]+"))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("sub", regex("user"))) == Decision::ClaimMismatch);  // full match, not a search
  CHECK(t.decide(R::claim_is("nope", regex(".*"))) == Decision::ClaimMismatch);
  CHECK(t.check(R::claim_is("tenant_id", ClaimCondition::one_of({"a", "b"}))).trace ==
        Strings{"claims tenant_id in [\"a\", \"b\"]: fail (\"org_company_a\")"});
  CHECK(t.check(R::claim_is("nope", ClaimCondition::equals("x"))).trace == Strings{"claims nope == \"x\": fail (absent)"});
  CHECK(t.check(R::claim_is("sub", regex("user:.*"))).trace ==
        Strings{"claims sub ~ \"user:.*\": pass (\"user:alice123\")"});
  CHECK(ClaimCondition::regex("(").error() == "missing ): (");
}

TEST_CASE("YAML scalars compare as text with the claim's scalar text") {
  const Claims claims{{"n", 42},          {"s", "42"},   {"t", true}, {"ts", "true"}, {"f", 42.0},
                      {"z", nullptr},     {"o", ClaimValue::Object{{"a", 1}}},       {"neg", -7},
                      {"arr", ClaimValue::Array{1, "x", false, 2.5, ClaimValue::Array{"deep"}}}};
  const auto is = [&](std::string_view claim, std::string text) {
    return ClaimCondition::equals(std::move(text)).matches(claims.find(claim));
  };
  CHECK(is("n", "42"));
  CHECK(is("s", "42"));
  CHECK_FALSE(is("n", "042"));
  CHECK_FALSE(is("n", "42.0"));
  CHECK(is("neg", "-7"));
  CHECK(is("t", "true"));
  CHECK(is("ts", "true"));
  CHECK_FALSE(is("t", "True"));
  CHECK_FALSE(is("t", "1"));
  CHECK_FALSE(is("f", "42"));  // floats never equal
  CHECK_FALSE(is("f", "42.0"));
  CHECK_FALSE(is("z", "null"));  // null never equals
  CHECK_FALSE(is("z", ""));
  CHECK_FALSE(is("o", "{}"));
  CHECK(is("arr", "1"));
  CHECK(is("arr", "x"));
  CHECK(is("arr", "false"));
  CHECK_FALSE(is("arr", "2.5"));
  CHECK_FALSE(is("arr", "deep"));  // one level of array only
  CHECK(ClaimCondition::exists().matches(claims.find("f")));
  CHECK_FALSE(ClaimCondition::exists().matches(claims.find("z")));
  CHECK(ClaimCondition::exists(false).matches(claims.find("z")));
  CHECK(regex("4[0-9]").matches(claims.find("n")));
  CHECK(regex("tru.").matches(claims.find("t")));
}

TEST_CASE("array-valued claims match when any element does") {
  const Token t{Claims{{"groups", ClaimValue::Array{"staff", "eng"}}, {"empty", ClaimValue::Array{}}}, {}, {}};
  CHECK(t.decide(R::claim_is("groups", ClaimCondition::equals("eng"))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("groups", ClaimCondition::one_of({"ops", "staff"}))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("groups", ClaimCondition::equals("ops"))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("groups", regex("e.*"))) == Decision::Allow);
  CHECK(t.decide(R::claim_is("empty", ClaimCondition::equals(""))) == Decision::ClaimMismatch);
  CHECK(t.decide(R::claim_is("empty", ClaimCondition::exists())) == Decision::Allow);
}

TEST_CASE("dotted paths reach nested objects and names that contain dots") {
  // more-sso-auth: permission "pma.role" == "admin" under "permissions".
  const Token pma{Claims{{"permissions", ClaimValue::Object{{"pma", ClaimValue::Object{{"role", "admin"}}}, {"id", 7}}},
                         {"https://example.com/roles", ClaimValue::Array{"billing", "owner"}},
                         {"https://example.com/org", ClaimValue::Object{{"id", "org_a"}}}},
                  {},
                  {}};
  CHECK(pma.decide(R::claim_is("permissions.pma.role", ClaimCondition::equals("admin"))) == Decision::Allow);
  CHECK(pma.decide(R::claim_is("permissions.pma.role", ClaimCondition::equals("user"))) == Decision::ClaimMismatch);
  CHECK(pma.decide(R::claim_is("permissions.id", ClaimCondition::equals("7"))) == Decision::Allow);
  CHECK(pma.decide(R::claim_is("permissions.pma", ClaimCondition::equals("admin"))) == Decision::ClaimMismatch);
  CHECK(pma.decide(R::claim_is("https://example.com/roles", ClaimCondition::equals("owner"))) == Decision::Allow);
  CHECK(pma.decide(R::claim_is("https://example.com/org.id", ClaimCondition::equals("org_a"))) == Decision::Allow);
  CHECK(pma.check(R::claim_is("permissions.pma", ClaimCondition::equals("admin"))).trace ==
        Strings{"claims permissions.pma == \"admin\": fail ({\"role\": \"admin\"})"});
}

TEST_CASE("path binding: a tenant A token never reaches tenant B") {
  const Token alice = usso();
  const R bound = R::path_claim("tenant_id", 1);
  CHECK(alice.decide(bound, {"/tenants/org_company_a/docs", "org_company_a"}) == Decision::Allow);
  CHECK(alice.decide(bound, {"/tenants/org_company_b/docs", "org_company_b"}) == Decision::PathBindingMismatch);
  CHECK(alice.decide(bound, {"/tenants/ORG_COMPANY_A/docs", "ORG_COMPANY_A"}) == Decision::PathBindingMismatch);
  CHECK(alice.decide(bound, {"/tenants//docs", ""}) == Decision::PathBindingMismatch);
  CHECK(alice.decide(bound, {}) == Decision::PathBindingMismatch);
  CHECK(alice.decide(R::path_claim("nope", 1), {"/x", "x"}) == Decision::PathBindingMismatch);
  CHECK(alice.check(bound, {"/t/org_b", "org_b"}).trace ==
        Strings{"path_claims tenant_id == capture 1 \"org_b\": fail (\"org_company_a\")"});
  // Integer and array claims bind through the same text rule.
  const Token numeric{Claims{{"uid", 42}, {"orgs", ClaimValue::Array{"a", "b"}}}, {}, {}};
  CHECK(numeric.decide(R::path_claim("uid", 1), {"/u/42", "42"}) == Decision::Allow);
  CHECK(numeric.decide(R::path_claim("orgs", 1), {"/o/b", "b"}) == Decision::Allow);
  CHECK(numeric.decide(R::path_claim("orgs", 1), {"/o/c", "c"}) == Decision::PathBindingMismatch);
  CHECK(highest_capture(R::all({R::roles_any({"x"}), R::any({R::path_claim("a", 3), R::path_claim("b", 1)})})) == 3);
  CHECK(highest_capture(R::roles_any({"x"})) == 0);
}

TEST_CASE("all fails with its first failure; any prefers a missing scope") {
  const Token t = usso();
  const R all = R::all({R::roles_any({"editor"}), R::claim_is("tenant_id", ClaimCondition::equals("org_b")),
                        R::scopes_all({"admin"})});
  CHECK(t.decide(all) == Decision::ClaimMismatch);
  CHECK(t.check(all).required_scopes.empty());

  const R any = R::any({R::roles_any({"admin"}), R::scopes_all({"read:tenants"}),
                        R::claim_is("tenant_id", ClaimCondition::equals("org_b"))});
  const Evaluation e = t.check(any);
  CHECK(e.decision == Decision::MissingScope);
  CHECK(e.required_scopes == Strings{"read:tenants"});
  CHECK(e.trace == Strings{"any: fail", "  roles_any [admin]: fail (roles: [editor])",
                           "  scopes_all [read:tenants]: fail (scopes: [read:users, write:posts])",
                           "  claims tenant_id == \"org_b\": fail (\"org_company_a\")"});
  CHECK(t.decide(R::any({R::roles_any({"admin"}), R::claim_is("sub", ClaimCondition::exists(false))})) ==
        Decision::MissingRole);
  CHECK(t.decide(R::any({R::roles_any({"admin"}), R::roles_any({"editor"})})) == Decision::Allow);
  CHECK(t.decide(R::any({})) != Decision::Allow);
}

TEST_CASE("nested combinators and the trace of the whole tree") {
  const Token t = usso();
  // (admin) or (editor and tenant bound and write:posts)
  const R tree = R::any({R::roles_any({"admin"}),
                         R::all({R::roles_all({"editor"}), R::path_claim("tenant_id", 1),
                                 R::scopes_all({"write:posts"})})});
  const Strings own{"/tenants/org_company_a/posts", "org_company_a"};
  const Strings other{"/tenants/org_company_b/posts", "org_company_b"};
  const Evaluation pass = t.check(tree, own);
  CHECK(pass.decision == Decision::Allow);
  CHECK(pass.trace == Strings{"any: pass", "  roles_any [admin]: fail (roles: [editor])", "  all: pass",
                              "    roles_all [editor]: pass (roles: [editor])",
                              "    path_claims tenant_id == capture 1 \"org_company_a\": pass (\"org_company_a\")",
                              "    scopes_all [write:posts]: pass (scopes: [read:users, write:posts])"});
  CHECK(t.decide(tree, other) == Decision::MissingRole);  // any: the first alternative's failure
  CHECK(t.decide(tree.children[1], other) == Decision::PathBindingMismatch);
  const Token admin{usso_claims(), {"admin"}, {}};
  CHECK(admin.decide(tree, other) == Decision::Allow);
}

TEST_CASE("without a trace the decision is the same and evaluation short-circuits") {
  const Token t = usso();
  const R tree = R::all({R::any({R::roles_any({"admin"}), R::scopes_all({"x"})}), R::roles_any({"nobody"})});
  const Evaluation quiet = evaluate(tree, Subject{t.claims, t.roles, t.scopes}, {}, TraceMode::Off);
  const Evaluation loud = t.check(tree);
  CHECK(quiet.decision == loud.decision);
  CHECK(quiet.decision == Decision::MissingScope);
  CHECK(quiet.required_scopes == Strings{"x"});
  CHECK(quiet.trace.empty());
  CHECK(loud.trace.size() == 5);
}

TEST_CASE("decisions have stable names and descriptions") {
  CHECK(to_string(Decision::Allow) == "allow");
  CHECK(to_string(Decision::MissingRole) == "missing_role");
  CHECK(to_string(Decision::MissingScope) == "missing_scope");
  CHECK(to_string(Decision::ClaimMismatch) == "claim_mismatch");
  CHECK(to_string(Decision::PathBindingMismatch) == "path_binding_mismatch");
  for (Decision d : {Decision::Allow, Decision::MissingRole, Decision::MissingScope, Decision::ClaimMismatch,
                     Decision::PathBindingMismatch})
    CHECK(describe(d) != "unknown decision");
}

TEST_CASE("client_certificate tests the connection's verified certificate, and fails without one") {
  const Token t = usso();
  const Strings uris{"spiffe://tls.test/ns/a/sa/web"};
  const Strings dns{"svc-a.tls.test"};
  const ClientCertificate certificate{"O=claimgate tests,CN=svc-a", uris, dns};
  auto decide = [&](const Requirement& r, const ClientCertificate* c) {
    return evaluate(r, Subject{t.claims, t.roles, t.scopes, c}, {}).decision;
  };
  const R any = R::client_certificate(ClaimCondition::exists(), "", "");
  CHECK(decide(any, &certificate) == Decision::Allow);
  CHECK(decide(any, nullptr) == Decision::MissingClientCertificate);
  CHECK(decide(R::client_certificate(regex(".*CN=svc-a"), "", ""), &certificate) == Decision::Allow);
  CHECK(decide(R::client_certificate(regex("CN=svc-a"), "", ""), &certificate) == Decision::ClientCertificateMismatch);
  CHECK(decide(R::client_certificate(ClaimCondition::exists(), "spiffe://tls.test/ns/a/sa/web", ""), &certificate) ==
        Decision::Allow);
  CHECK(decide(R::client_certificate(ClaimCondition::exists(), "spiffe://tls.test/ns/a/sa/we", ""), &certificate) ==
        Decision::ClientCertificateMismatch);
  CHECK(decide(R::client_certificate(ClaimCondition::exists(), "", "SVC-A.tls.test"), &certificate) == Decision::Allow);
  // All the given fields must match.
  CHECK(decide(R::client_certificate(regex(".*CN=svc-a"), "spiffe://other", "svc-a.tls.test"), &certificate) ==
        Decision::ClientCertificateMismatch);
  // Combined with token requirements.
  CHECK(decide(R::all({any, R::roles_any({"editor"})}), &certificate) == Decision::Allow);
  CHECK(decide(R::all({any, R::roles_any({"editor"})}), nullptr) == Decision::MissingClientCertificate);
  CHECK(decide(R::any({any, R::roles_any({"editor"})}), nullptr) == Decision::Allow);
  CHECK(to_string(Decision::ClientCertificateMismatch) == "client_certificate_mismatch");
  CHECK(to_string(Decision::MissingClientCertificate) == "missing_client_certificate");
}

TEST_CASE("is_certificate_only: what may stand on an anonymous route") {
  const R cert = R::client_certificate(ClaimCondition::exists(), "", "");
  CHECK(is_certificate_only(cert));
  CHECK(is_certificate_only(R::any({cert, R::all({cert})})));
  CHECK_FALSE(is_certificate_only(R::all({cert, R::roles_any({"a"})})));
  CHECK_FALSE(is_certificate_only(R{}));  // {} allows any valid token: it needs a token
}
