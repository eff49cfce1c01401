#include <doctest/doctest.h>

#include "core/claims.h"

using claimgate::ClaimValue;
using claimgate::Claims;

TEST_CASE("dotted paths walk nested objects") {
  Claims claims{{"sub", "u1"},
                {"permissions", ClaimValue::Object{{"pma", ClaimValue::Object{{"role", "admin"}}}}},
                {"a.b", 7}};
  REQUIRE(claims.string_at("permissions.pma.role") != nullptr);
  CHECK(*claims.string_at("permissions.pma.role") == "admin");
  CHECK(claims.find("permissions.pma.missing") == nullptr);
  CHECK(claims.find("permissions.pma.role.x") == nullptr);
  CHECK(claims.find("sub.x") == nullptr);
  CHECK(claims.find("") == nullptr);
  REQUIRE(claims.find("a.b") != nullptr);
  CHECK(claims.find("a.b")->as_integer() == 7);
}

TEST_CASE("string lists from arrays and space-separated strings") {
  Claims claims{{"roles", ClaimValue::Array{"admin", 3, "ops"}}, {"scope", "  read:a  write:b "}};
  CHECK(claims.strings_at("roles") == std::vector<std::string>{"admin", "ops"});
  CHECK(claims.strings_at("scope") == std::vector<std::string>{"read:a", "write:b"});
  CHECK(claims.strings_at("absent").empty());
}

TEST_CASE("scalar text") {
  std::string out;
  CHECK(ClaimValue(true).scalar_text(out));
  CHECK(out == "true");
  CHECK(ClaimValue(std::int64_t{42}).scalar_text(out));
  CHECK(out == "42");
  CHECK_FALSE(ClaimValue(ClaimValue::Array{}).scalar_text(out));
}
