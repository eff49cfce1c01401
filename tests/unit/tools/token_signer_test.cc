// TokenSigner against our own verifier: every minted token verifies with the public JWKS the
// signer exports, and with no other key; a flipped signature bit never verifies.
#include <doctest/doctest.h>

#include <string>

#include "jwks/jwks.h"
#include "jwt/base64url.h"
#include "jwt/verify.h"
#include "tools/token_signer.h"

using namespace claimgate;

namespace doctest {
template <>
struct StringMaker<jwt::Error> {
  static String convert(jwt::Error e) {
    const auto name = jwt::to_string(e);
    return String(name.data(), static_cast<String::size_type>(name.size()));
  }
};
}  // namespace doctest

namespace {

constexpr std::int64_t kNow = 1'700'000'000;

jwt::KeySet key_set_of(const tools::TokenSigner& signer) {
  auto keys = jwks::parse_jwks(signer.public_jwks(), jwks::KeySource::Network);
  REQUIRE(keys.has_value());
  REQUIRE(keys->size() == 1);
  return *keys;
}

jwt::VerifyOptions options_for(jwt::Algorithm alg) {
  jwt::VerifyOptions o;
  o.allowed_algorithms = {alg};
  o.issuer = "https://issuer.test";
  o.audiences = {"app"};
  return o;
}

ClaimValue::Object sample_claims() {
  return {{"iss", "https://issuer.test"},
          {"sub", "user:alice123"},
          {"aud", "app"},
          {"iat", kNow},
          {"exp", kNow + 60},
          {"roles", ClaimValue::Array{"editor"}},
          {"note", "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9"},
          {"permissions", ClaimValue::Object{{"pma", ClaimValue::Object{{"role", "admin"}}}}},
          {"n", 1.5},
          {"flag", true},
          {"nothing", nullptr}};
}

std::string flip_bit(std::string token, std::size_t bit) {
  const auto dot = token.rfind('.');
  std::string sig;
  REQUIRE(jwt::decode_base64url(std::string_view(token).substr(dot + 1), sig));
  sig[bit / 8] = static_cast<char>(sig[bit / 8] ^ (1 << (bit % 8)));
  return token.substr(0, dot + 1) + jwt::encode_base64url(sig);
}

}  // namespace

TEST_CASE("to_json writes compact JSON that round-trips through the verifier's parser") {
  CHECK(claimgate::to_json(ClaimValue(ClaimValue::Object{{"a", 1}, {"b", ClaimValue::Array{"x", false, nullptr}}})) ==
        R"({"a":1,"b":["x",false,null]})");
  CHECK(claimgate::to_json(ClaimValue("\"\\\n\x1f")) == R"("\"\\\n\u001f")");
  CHECK(claimgate::to_json(ClaimValue(0.25)) == "0.25");
}

TEST_CASE("a signed token verifies with the exported JWKS") {
  for (const auto alg : {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256}) {
    CAPTURE(jwt::to_string(alg));
    auto signer = tools::TokenSigner::generate(alg, "k1");
    REQUIRE(signer.has_value());
    CHECK(signer->kid() == "k1");
    const auto token = signer->sign(sample_claims());
    REQUIRE(token.has_value());
    const auto keys = key_set_of(*signer);

    auto verified = jwt::verify(*token, keys, options_for(alg), kNow);
    REQUIRE_MESSAGE(verified.has_value(), jwt::to_string(verified.error()));
    CHECK(verified->alg == alg);
    CHECK(verified->kid == "k1");
    CHECK(verified->subject == "user:alice123");
    CHECK(*verified->claims.string_at("permissions.pma.role") == "admin");
    CHECK(*verified->claims.string_at("note") == "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9");
    CHECK(verified->claims.strings_at("roles") == std::vector<std::string>{"editor"});

    SUBCASE("the signature is 64 raw bytes") {
      std::string sig;
      REQUIRE(jwt::decode_base64url(std::string_view(*token).substr(token->rfind('.') + 1), sig));
      CHECK(sig.size() == 64);
    }
    SUBCASE("every flipped signature bit is refused") {
      for (std::size_t bit = 0; bit < 512; bit += 7) {
        CHECK(jwt::verify(flip_bit(*token, bit), keys, options_for(alg), kNow).error() == jwt::Error::BadSignature);
      }
    }
    SUBCASE("another key of the same kind with the same kid is refused") {
      auto other = tools::TokenSigner::generate(alg, "k1");
      REQUIRE(other.has_value());
      CHECK(jwt::verify(*token, key_set_of(*other), options_for(alg), kNow).error() == jwt::Error::BadSignature);
    }
    SUBCASE("expired after exp") {
      CHECK(jwt::verify(*token, keys, options_for(alg), kNow + 60).error() == jwt::Error::Expired);
    }
  }
}

TEST_CASE("the private JWK round-trips") {
  for (const auto alg : {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256}) {
    CAPTURE(jwt::to_string(alg));
    auto signer = tools::TokenSigner::generate(alg, "");
    REQUIRE(signer.has_value());
    CHECK(signer->kid().size() == 43);  // RFC 7638 SHA-256 thumbprint, base64url
    CHECK(signer->public_jwk().find("\"d\"") == std::string::npos);
    CHECK(signer->private_jwk().find("\"d\"") != std::string::npos);

    auto loaded = tools::TokenSigner::from_private_jwk(signer->private_jwk());
    REQUIRE_MESSAGE(loaded.has_value(), loaded.error());
    CHECK(loaded->algorithm() == alg);
    CHECK(loaded->kid() == signer->kid());
    CHECK(loaded->public_jwks() == signer->public_jwks());
    // Signed by the loaded copy, verified with the original's public key.
    const auto token = loaded->sign(sample_claims());
    REQUIRE(token.has_value());
    CHECK(jwt::verify(*token, key_set_of(*signer), options_for(alg), kNow).has_value());
  }
}

TEST_CASE("RFC 8037 appendix A.1 key: thumbprint and public key are derived from the seed") {
  // RFC 8037 A.1 private key; A.3 gives its thumbprint.
  const std::string jwk =
      R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
      R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
  auto signer = tools::TokenSigner::from_private_jwk(jwk);
  REQUIRE_MESSAGE(signer.has_value(), signer.error());
  CHECK(signer->kid() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  // RFC 8037 A.4: Ed25519 is deterministic, so the signature over the example input is fixed.
  const auto sig = signer->sign_raw("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
  REQUIRE(sig.has_value());
  CHECK(jwt::encode_base64url(*sig) ==
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST_CASE("bad private JWKs are refused with a reason") {
  auto ed = tools::TokenSigner::generate(jwt::Algorithm::EdDSA, "k");
  auto ec = tools::TokenSigner::generate(jwt::Algorithm::ES256, "k");
  REQUIRE(ed.has_value());
  REQUIRE(ec.has_value());
  CHECK_FALSE(tools::TokenSigner::from_private_jwk("not json").has_value());
  CHECK_FALSE(tools::TokenSigner::from_private_jwk(ed->public_jwk()).has_value());  // no "d"
  CHECK_FALSE(tools::TokenSigner::from_private_jwk(ec->public_jwk()).has_value());
  CHECK_FALSE(tools::TokenSigner::from_private_jwk(R"({"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"})").has_value());

  SUBCASE("a public part that does not belong to the private part") {
    auto ed2 = tools::TokenSigner::generate(jwt::Algorithm::EdDSA, "k");
    auto ec2 = tools::TokenSigner::generate(jwt::Algorithm::ES256, "k");
    REQUIRE(ed2.has_value());
    REQUIRE(ec2.has_value());
    auto splice = [](const std::string& with_d, const std::string& public_of_other) {
      // The other key's members, then this key's "d".
      const auto d_at = with_d.find("\"d\":");
      const auto d_end = with_d.find('"', with_d.find('"', d_at + 4) + 1);
      return public_of_other.substr(0, public_of_other.size() - 1) + "," + with_d.substr(d_at, d_end + 1 - d_at) +
             "}";
    };
    CHECK_FALSE(tools::TokenSigner::from_private_jwk(splice(ed->private_jwk(), ed2->public_jwk())).has_value());
    CHECK_FALSE(tools::TokenSigner::from_private_jwk(splice(ec->private_jwk(), ec2->public_jwk())).has_value());
  }
  SUBCASE("alg that does not fit the key") {
    std::string jwk = ed->private_jwk();
    jwk.replace(jwk.find("\"EdDSA\""), 7, "\"ES256\"");
    CHECK_FALSE(tools::TokenSigner::from_private_jwk(jwk).has_value());
  }
  CHECK_FALSE(tools::TokenSigner::generate(jwt::Algorithm::RS256, "k").has_value());
}
