// Tokens and keys minted by make_vectors.py (PyJWT and jwcrypto), read from the directory in
// CLAIMGATE_JWT_VECTORS. See that script for the file formats.
#include <doctest/doctest.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <vector>

#include "jwt/key.h"
#include "jwt/key_set.h"
#include "jwt/verify.h"
#include "test_support.h"

using claimgate::jwt::Algorithm;
using claimgate::jwt::Curve;
using claimgate::jwt::Error;
using claimgate::jwt::Key;
using claimgate::jwt::KeySet;
using claimgate::jwt::peek_issuer;
using claimgate::jwt::verify;
using claimgate::jwt::VerifyOptions;
using claimgate::test::decoded;
using claimgate::test::read_vector_file;
using claimgate::test::split;

namespace {

constexpr std::string_view kIssuer = "https://issuer.example";

using Vector = claimgate::test::TokenVector;
using claimgate::test::to_int;

struct Fixtures {
  claimgate::test::TokenVectors tokens;
  std::vector<Key> keys;
};

Key load_key(const std::vector<std::string>& f) {
  REQUIRE(f.size() >= 5);
  const std::optional<Algorithm> alg =
      f[2] == "-" ? std::nullopt : claimgate::jwt::parse_algorithm(f[2]);
  auto key = [&]() -> claimgate::Result<Key, claimgate::jwt::KeyError> {
    if (f[1] == "RSA") return Key::rsa(f[0], decoded(f[4]), decoded(f[5]), alg);
    if (f[1] == "OKP") return Key::ed25519(f[0], decoded(f[4]), alg);
    if (f[1] == "oct") return Key::hmac(f[0], decoded(f[4]), alg);
    const Curve curve = f[3] == "P-256" ? Curve::P256 : f[3] == "P-384" ? Curve::P384 : Curve::P521;
    return Key::ec(f[0], curve, decoded(f[4]), decoded(f[5]), alg);
  }();
  REQUIRE_MESSAGE(key.has_value(), "key " << f[0]);
  return std::move(*key);
}

const Fixtures& fixtures() {
  static const Fixtures loaded = [] {
    Fixtures out{claimgate::test::load_token_vectors(), {}};
    for (const std::string& line : split(read_vector_file("keys.txt"), '\n')) {
      if (!line.empty()) out.keys.push_back(load_key(split(line, ' ')));
    }
    return out;
  }();
  return loaded;
}

// Defaults: every asymmetric algorithm, the generator's issuer and audience, all keys.
struct Case {
  VerifyOptions options;
  KeySet keys;
};

Case case_for(const Vector& v) {
  Case c;
  c.options.allowed_algorithms = {Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256,
                                  Algorithm::PS384, Algorithm::PS512, Algorithm::ES256, Algorithm::ES384,
                                  Algorithm::ES512, Algorithm::EdDSA};
  c.options.issuer = kIssuer;
  c.options.audiences = {"claimgate-api"};
  std::vector<std::string> kids;
  if (v.options != "-") {
    for (const std::string& setting : split(v.options, ';')) {
      const auto eq = setting.find('=');
      REQUIRE(eq != std::string::npos);
      const std::string name = setting.substr(0, eq);
      const std::string value = setting.substr(eq + 1);
      if (name == "algs") {
        c.options.allowed_algorithms.clear();
        for (const std::string& alg : split(value, ',')) c.options.allowed_algorithms.push_back(*claimgate::jwt::parse_algorithm(alg));
      } else if (name == "leeway") {
        c.options.leeway_s = to_int(value);
      } else if (name == "aud") {
        c.options.audiences = value.empty() ? std::vector<std::string>{} : split(value, '|');
      } else if (name == "require_exp") {
        c.options.require_exp = value != "0";
      } else if (name == "max_lifetime") {
        c.options.max_lifetime_s = to_int(value);
      } else if (name == "require") {
        c.options.required_claims = split(value, ',');
      } else if (name == "max_bytes") {
        c.options.max_token_bytes = static_cast<std::size_t>(to_int(value));
      } else if (name == "kids") {
        kids = split(value, ',');
      } else {
        FAIL("unknown option " << name);
      }
    }
  }
  std::vector<Key> keys;
  for (const Key& key : fixtures().keys) {
    if (kids.empty() || std::ranges::find(kids, *key.kid()) != kids.end()) keys.push_back(key);
  }
  c.keys = KeySet(std::move(keys));
  return c;
}

std::string outcome(const claimgate::Result<claimgate::jwt::VerifiedToken, Error>& result) {
  return result ? "ok" : std::string(to_string(result.error()));
}

}  // namespace

TEST_CASE("generated vectors: every one gives its expected outcome") {
  const Fixtures& f = fixtures();
  CHECK(f.tokens.vectors.size() > 100);
  for (const Vector& v : f.tokens.vectors) {
    CAPTURE(v.name);
    const Case c = case_for(v);
    CHECK(outcome(verify(v.token, c.keys, c.options, f.tokens.now)) == v.expected);
  }
}

TEST_CASE("every algorithm from both minting libraries verifies, with its claims") {
  const Fixtures& f = fixtures();
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
                          "HS256", "HS384", "HS512"}) {
    for (const char* minter : {"pyjwt-", "jwcrypto-"}) {
      const Vector& v = f.tokens.find(std::string(minter) + alg);
      CAPTURE(v.name);
      const Case c = case_for(v);
      const auto token = verify(v.token, c.keys, c.options, f.tokens.now);
      REQUIRE(token.has_value());
      CHECK(to_string(token->alg) == alg);
      REQUIRE(token->kid.has_value());
      CHECK(token->issuer == kIssuer);
      CHECK(token->subject == "user-1");
      CHECK(token->expires_at == f.tokens.now + 600);
      REQUIRE(token->claims.string_at("permissions.pma.role") != nullptr);
      CHECK(*token->claims.string_at("permissions.pma.role") == "admin");
      CHECK(token->claims.strings_at("scope") == std::vector<std::string>{"read", "write"});
      CHECK(token->claims.find("iat")->as_integer() == f.tokens.now - 60);
    }
  }
}

TEST_CASE("a token verifies exactly at its size limit and not one byte below it") {
  const Fixtures& f = fixtures();
  const Vector& v = f.tokens.find("pyjwt-ES256");
  Case c = case_for(v);
  c.options.max_token_bytes = v.token.size();
  CHECK(verify(v.token, c.keys, c.options, f.tokens.now).has_value());
  c.options.max_token_bytes = v.token.size() - 1;
  CHECK(verify(v.token, c.keys, c.options, f.tokens.now).error() == Error::TokenTooLarge);
}

TEST_CASE("every bit flip and truncation of a signature fails, for every algorithm") {
  const Fixtures& f = fixtures();
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
                          "HS256", "HS384", "HS512"}) {
    const Vector& v = f.tokens.find(std::string("pyjwt-") + alg);
    const Case c = case_for(v);
    REQUIRE(verify(v.token, c.keys, c.options, f.tokens.now).has_value());
    const auto mutations = claimgate::test::signature_mutations(v.token);
    CHECK(mutations.size() > 8 * 32);
    std::size_t accepted = 0;
    for (const std::string& mutated : mutations) {
      const auto result = verify(mutated, c.keys, c.options, f.tokens.now);
      if (result || result.error() != Error::BadSignature) ++accepted;
    }
    CAPTURE(alg);
    CHECK(accepted == 0);
  }
}

TEST_CASE("changing any character of the signed header or payload fails") {
  const Fixtures& f = fixtures();
  for (const char* name : {"pyjwt-EdDSA", "pyjwt-HS256", "pyjwt-ES256"}) {
    const Vector& v = f.tokens.find(name);
    const Case c = case_for(v);
    const std::size_t signed_size = v.token.rfind('.');
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < signed_size; ++i) {
      if (v.token[i] == '.') continue;
      std::string mutated = v.token;
      mutated[i] = mutated[i] == 'A' ? 'B' : 'A';
      if (verify(mutated, c.keys, c.options, f.tokens.now)) ++accepted;
    }
    CAPTURE(name);
    CHECK(accepted == 0);
  }
}

TEST_CASE("peek_issuer reads iss without verifying") {
  const Fixtures& f = fixtures();
  CHECK(peek_issuer(f.tokens.find("pyjwt-RS256").token).value() == kIssuer);
  CHECK(peek_issuer(f.tokens.find("iss-wrong").token).value() == "https://evil.example");
  CHECK(peek_issuer(f.tokens.find("eddsa-evil-key").token).value() == kIssuer);  // unverified by design
  CHECK(peek_issuer(f.tokens.find("iss-missing").token).error() == Error::MissingIssuer);
  CHECK(peek_issuer(f.tokens.find("iss-number").token).error() == Error::MissingIssuer);
  CHECK(peek_issuer(f.tokens.find("payload-not-json").token).error() == Error::BadJson);
  CHECK(peek_issuer(f.tokens.find("payload-plus-slash").token).error() == Error::BadBase64);
  CHECK(peek_issuer(f.tokens.find("two-segments").token).error() == Error::Malformed);
  CHECK(peek_issuer(f.tokens.find("oversized").token).error() == Error::TokenTooLarge);
}
