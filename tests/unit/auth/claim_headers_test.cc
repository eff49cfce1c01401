#include <doctest/doctest.h>

#include "auth/claim_headers.h"

using namespace claimgate;
using namespace claimgate::auth;

TEST_CASE("look-alike header names fold together") {
  CHECK(fold_header_name("X_User_Id") == "x-user-id");
  CHECK(fold_header_name("x.user.id") == "x-user-id");
  ClaimHeaders headers(AuthSettings{});
  CHECK(headers.is_reserved("X-User-Id"));
  CHECK(headers.is_reserved("x_user_roles"));
  CHECK(headers.is_reserved("X.User.Tenant"));
  CHECK_FALSE(headers.is_reserved("X-User-Agent"));
  CHECK(headers.is_reserved("X_Forwarded_Client_Cert"));
  CHECK(headers.is_reserved("x.forwarded.client.cert"));
}

TEST_CASE("values from an identity") {
  AuthSettings settings;
  settings.claim_headers.push_back({"X-User-Level", "level"});
  settings.claim_headers.push_back({"X-User-Perm", "permissions"});
  settings.claim_headers.push_back({"X-User-Groups", "groups"});
  settings.claim_headers.push_back({"X-User-Evil", "evil"});
  settings.payload_header = "X-User-Claims";
  ClaimHeaders headers(settings);
  Identity id;
  id.token.claims = Claims{{"sub", "user:alice123"},
                           {"tenant_id", "org_a"},
                           {"level", std::int64_t{3}},
                           {"permissions", ClaimValue::Object{{"pma", ClaimValue::Object{{"role", "admin"}}}}},
                           {"groups", ClaimValue::Array{"a,b", "c%d", true}},
                           {"evil", "x\r\nInjected: 1"}};
  id.roles = {"editor", "ad,min"};
  id.scopes = {"read:users", "write:posts"};
  id.payload_segment = "eyJzdWIiOiJ4In0";
  const auto values = headers.values_for(id);
  auto value = [&](std::string_view name) -> std::string {
    for (const auto& [n, v] : values) {
      if (n == name) return v;
    }
    return "<absent>";
  };
  CHECK(value("X-User-Id") == "user:alice123");
  CHECK(value("X-User-Tenant") == "org_a");
  CHECK(value("X-User-Workspace") == "<absent>");
  CHECK(value("X-User-Roles") == "editor,ad%2Cmin");
  CHECK(value("X-User-Scopes") == "read:users,write:posts");
  CHECK(value("X-User-Level") == "3");
  CHECK(value("X-User-Perm") == "{\"pma\":{\"role\":\"admin\"}}");
  CHECK(value("X-User-Groups") == "a%2Cb,c%25d,true");
  CHECK(value("X-User-Evil") == "<absent>");
  CHECK(value("X-User-Claims") == "eyJzdWIiOiJ4In0");
}
