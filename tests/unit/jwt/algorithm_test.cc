#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "jwt/algorithm.h"

using claimgate::jwt::Algorithm;
using claimgate::jwt::is_none_algorithm;
using claimgate::jwt::parse_algorithm;
using claimgate::jwt::validate_algorithm_list;

TEST_CASE("algorithm names are exact and case-sensitive") {
  for (const char* name : {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                           "ES384", "ES512", "EdDSA"}) {
    const auto alg = parse_algorithm(name);
    REQUIRE(alg.has_value());
    CHECK(to_string(*alg) == name);
  }
  for (const char* name : {"rs256", "EDDSA", "ES256K", "Ed25519", "none", "", "RS256 "}) {
    CAPTURE(name);
    CHECK_FALSE(parse_algorithm(name).has_value());
  }
}

TEST_CASE("none is recognised in any spelling") {
  for (const char* name : {"none", "None", "NONE", "nOnE"}) CHECK(is_none_algorithm(name));
  for (const char* name : {"non", "nones", "no ne", ""}) CHECK_FALSE(is_none_algorithm(name));
}

TEST_CASE("validate_algorithm_list") {
  using Names = std::vector<std::string>;
  SUBCASE("accepts one family") {
    const auto algs = validate_algorithm_list(Names{"RS256", "ES256", "EdDSA", "PS512"});
    REQUIRE(algs.has_value());
    CHECK(*algs == std::vector<Algorithm>{Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS512});
    CHECK(validate_algorithm_list(Names{"HS256", "HS512"}).has_value());
  }
  SUBCASE("refuses HS* mixed with asymmetric") {
    const auto algs = validate_algorithm_list(Names{"HS256", "RS256"});
    REQUIRE_FALSE(algs.has_value());
    CHECK(algs.error().find("mixed") != std::string::npos);
  }
  SUBCASE("refuses none, unknown names, repeats and an empty list") {
    CHECK(validate_algorithm_list(Names{"RS256", "None"}).error().find("never accepted") != std::string::npos);
    CHECK(validate_algorithm_list(Names{"RS1"}).error().find("unsupported") != std::string::npos);
    CHECK(validate_algorithm_list(Names{"ES256", "ES256"}).error().find("twice") != std::string::npos);
    CHECK(validate_algorithm_list(Names{}).error().find("empty") != std::string::npos);
  }
}
