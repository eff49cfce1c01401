#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "jwt/key.h"
#include "jwt/key_set.h"
#include "rfc_keys.h"
#include "test_support.h"

using claimgate::jwt::Algorithm;
using claimgate::jwt::Curve;
using claimgate::jwt::Error;
using claimgate::jwt::Key;
using claimgate::jwt::KeyError;
using claimgate::jwt::KeySet;
using claimgate::test::decoded;
using claimgate::test::must;

namespace {
// RFC 7515 A.2/A.3 and RFC 8037 keys, decoded on first use, inside a test, where REQUIRE may run.
struct Material {
  std::string rsa_n = decoded(claimgate::test::kRfc7515RsaN);
  std::string rsa_e = decoded("AQAB");
  std::string p256_x = decoded(claimgate::test::kRfc7515P256X);
  std::string p256_y = decoded(claimgate::test::kRfc7515P256Y);
  std::string ed25519_x = decoded(claimgate::test::kRfc8037Ed25519X);
  std::string secret = std::string(64, 's');
};

const Material& material() {
  static const Material m;
  return m;
}
}  // namespace

TEST_CASE("RSA keys: at least 2048 bits, valid, modulus length recorded") {
  const Material& m = material();
  const Key key = must(Key::rsa("r", m.rsa_n, m.rsa_e, std::nullopt));
  CHECK(key.rsa_signature_bytes() == 256);
  CHECK(key.evp_pkey() != nullptr);
  CHECK(Key::rsa("r", m.rsa_n.substr(1), m.rsa_e, std::nullopt).error() == KeyError::RsaModulusTooSmall);
  // Longer than 8192 bits: refused before any arithmetic on it.
  const std::string huge_n = std::string(1, '\x01') + std::string(1024, '\xff');
  CHECK(Key::rsa("r", huge_n, m.rsa_e, std::nullopt).error() == KeyError::RsaModulusTooLarge);
  CHECK(Key::rsa("r", std::string(1024, '\xff'), m.rsa_e, std::nullopt).error() != KeyError::RsaModulusTooLarge);
  CHECK(Key::rsa("r", m.rsa_n, "", std::nullopt).error() == KeyError::BadRsaKey);
  std::string even_n = m.rsa_n;
  even_n.back() = static_cast<char>(even_n.back() & ~1);
  CHECK(Key::rsa("r", even_n, m.rsa_e, std::nullopt).error() == KeyError::BadRsaKey);
}

// Moduli built for these checks: a 2048-bit prime (`openssl prime -generate`); 3 times a random odd
// number; and 757 times a random odd number free of factors below 752, picked so that
// n - 1 = 378 (mod 756). For the last one a random base exposes the factor 757 half of the time,
// so OpenSSL 3's EVP_PKEY_public_check (SP 800-56B, Miller-Rabin with random bases) accepted it in
// one parse and refused it in the next: found by fuzz_jwks as the same document parsing differently.
constexpr const char* kPrimeModulus =
    "3rGqmCP0TLM-4VXdf69q7LPWW91QVbGSQ-ZLq4Q8PCmYeMzREaj-3LY2fUulQrF07uTcdd5wC8BwhZogMobayYkODhE13DKdHo1xRswgdEQ9uxSD1dQzYHmIjYtHqTKhZcCRGJHZ6CnwoQ0Y7Q9ijsfIeZ1XKfj51sxtV86U0_FU06NepSSA140ZLPKAFl3J4Kr9X7iUXBIlcBCgodjxmTn9uxMWQeNfk2svgXxXTRRLvAofjz1EHXWcpoZslgRcl59NcXNWc1gh1eAVC3YCTHs4gmkOKGOQCbi2C26mJKbYJ8fwHoHxnn1kRg7_1OvazB4CjKWTVyV0xHmZ03bmdQ";
constexpr const char* kModulusWithFactor3 =
    "Asfi0JPDZ14cXUSBUiRzkZwprvLMou2gqsKuJu8oDohhyMSDRmsSQMLO7GvmmLmUIniAjMkX0ShsVxlHi-dfod0g3Kp3xfboQN9blWhGUiG2emtNbDEtF_VU6o68A6TeCAuh-Ds5SAvMK3itsZHNnJLHCqkemqimjHRyK83nkq99sh24knOsZNGVQ9Wk6s3ofzD_1Ydt1toRph3ih4JnA2Cfd8sgaSmRXibFCpT8p71ik0JsdbP3V5qnAKrExy8SzWhe1QqDLR79ufj33Qoc7nDRGba3MlN_jL4YKvjgjZ3zbBK328_Pgvm_chPgHCAk7GQqKjyh99HfxyXxtrbBv_c";
constexpr const char* kModulusWithFactor757 =
    "AlkK6olJceU0Ri1v7LCcg-0mk1LPVCEmM2WUvGbvziktxfeTzcgaXpHPqQpvClR68xsEwWzQMZNxyp9mg8WJEnhdT7QC8ZTckp7PMq3e0bUizwWM6EanCBRkSsQl9fFbEEzm8t6aCqD-des6lI3ENlHc_StmkfKIgfU4tr2uALtT7JFdCval3yXLpgrNI_1zN4rd8Lv3YZPO_n_MV7YjSlGVZXoA5_9Q1bOibbjeO6aEKYFAqKWTyBCubJETbPj1dT5qYzRAsLlfZQe6hLzFLDLgZNgQ8VlLQyuVHfDCph2trQDCg3l-RTWN__CfgXby4irBw2bUiszGEmAMdkr2-Pc";

TEST_CASE("RSA keys: the public-key check gives the same answer on every parse") {
  const std::string e = decoded("AQAB");
  const std::string with_factor_757 = decoded(kModulusWithFactor757);
  for (int i = 0; i < 64; ++i) {
    CAPTURE(i);
    REQUIRE(Key::rsa("r", with_factor_757, e, std::nullopt).has_value());
  }
  CHECK(Key::rsa("r", decoded(kPrimeModulus), e, std::nullopt).error() == KeyError::BadRsaKey);
  CHECK(Key::rsa("r", decoded(kModulusWithFactor3), e, std::nullopt).error() == KeyError::BadRsaKey);
}

TEST_CASE("RSA keys: the exponent is odd and between 1 and 2^256, exclusive") {
  const Material& m = material();
  CHECK(Key::rsa("r", m.rsa_n, "\x01", std::nullopt).error() == KeyError::BadRsaKey);
  CHECK(Key::rsa("r", m.rsa_n, "\x03", std::nullopt).has_value());  // legacy, accepted like OpenSSL does
  CHECK(Key::rsa("r", m.rsa_n, std::string("\x01\x00\x00", 3), std::nullopt).error() == KeyError::BadRsaKey);
  CHECK(Key::rsa("r", m.rsa_n, std::string("\x01\x00\x01", 3), std::nullopt).has_value());
  CHECK(Key::rsa("r", m.rsa_n, std::string(32, '\xff'), std::nullopt).has_value());
  CHECK(Key::rsa("r", m.rsa_n, "\x01" + std::string(32, '\x01'), std::nullopt).error() == KeyError::BadRsaKey);
}

TEST_CASE("EC keys: exact coordinate length and a point on the curve") {
  const Material& m = material();
  CHECK(must(Key::ec("e", Curve::P256, m.p256_x, m.p256_y, std::nullopt)).curve() == Curve::P256);
  CHECK(Key::ec("e", Curve::P256, m.p256_x.substr(1), m.p256_y, std::nullopt).error() == KeyError::BadCoordinateLength);
  CHECK(Key::ec("e", Curve::P384, m.p256_x, m.p256_y, std::nullopt).error() == KeyError::BadCoordinateLength);
  std::string off_curve = m.p256_y;
  off_curve.back() = static_cast<char>(off_curve.back() ^ 1);
  CHECK(Key::ec("e", Curve::P256, m.p256_x, off_curve, std::nullopt).error() == KeyError::PointNotOnCurve);
}

TEST_CASE("Ed25519 keys: 32 bytes of a valid, non-small-order point") {
  const Material& m = material();
  CHECK(must(Key::ed25519("d", m.ed25519_x, std::nullopt)).raw_bytes() == m.ed25519_x);
  CHECK(Key::ed25519("d", m.ed25519_x.substr(1), std::nullopt).error() == KeyError::BadEd25519Key);
  const std::string identity = std::string(1, '\x01') + std::string(31, '\0');  // small order
  CHECK(Key::ed25519("d", identity, std::nullopt).error() == KeyError::BadEd25519Key);
}

TEST_CASE("HMAC keys: at least 32 bytes, and as long as the hash they are used with") {
  CHECK(Key::hmac("h", std::string(31, 's'), std::nullopt).error() == KeyError::HmacSecretTooShort);
  const Key short_key = must(Key::hmac("h", std::string(32, 's'), std::nullopt));
  CHECK(short_key.can_verify(Algorithm::HS256));
  CHECK_FALSE(short_key.can_verify(Algorithm::HS384));
  CHECK_FALSE(short_key.can_verify(Algorithm::HS512));
  CHECK(Key::hmac("h", std::string(40, 's'), Algorithm::HS512).error() == KeyError::AlgNotForKey);
}

TEST_CASE("a key's kty, crv and own alg bind the algorithms it verifies") {
  const Material& m = material();
  const Key rsa = must(Key::rsa("r", m.rsa_n, m.rsa_e, std::nullopt));
  for (Algorithm alg : {Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384,
                        Algorithm::PS512}) {
    CHECK(rsa.can_verify(alg));
  }
  CHECK_FALSE(rsa.can_verify(Algorithm::HS256));
  CHECK_FALSE(rsa.can_verify(Algorithm::ES256));
  const Key rs256_only = must(Key::rsa("r", m.rsa_n, m.rsa_e, Algorithm::RS256));
  CHECK(rs256_only.can_verify(Algorithm::RS256));
  CHECK_FALSE(rs256_only.can_verify(Algorithm::RS384));
  CHECK_FALSE(rs256_only.can_verify(Algorithm::PS256));
  const Key p256 = must(Key::ec("e", Curve::P256, m.p256_x, m.p256_y, std::nullopt));
  CHECK(p256.can_verify(Algorithm::ES256));
  CHECK_FALSE(p256.can_verify(Algorithm::ES384));
  CHECK_FALSE(p256.can_verify(Algorithm::ES512));
  const Key ed = must(Key::ed25519("d", m.ed25519_x, std::nullopt));
  CHECK(ed.can_verify(Algorithm::EdDSA));
  CHECK_FALSE(ed.can_verify(Algorithm::ES256));
  const Key secret = must(Key::hmac("h", m.secret, std::nullopt));
  CHECK_FALSE(secret.can_verify(Algorithm::RS256));
  CHECK(Key::rsa("r", m.rsa_n, m.rsa_e, Algorithm::ES256).error() == KeyError::AlgNotForKey);
  CHECK(Key::ec("e", Curve::P256, m.p256_x, m.p256_y, Algorithm::ES384).error() == KeyError::AlgNotForKey);
}

TEST_CASE("KeySet::select never falls back to another key") {
  const Material& m = material();
  std::vector<Key> keys;
  keys.push_back(must(Key::rsa("rsa-a", m.rsa_n, m.rsa_e, std::nullopt)));
  keys.push_back(must(Key::rsa("rsa-b", m.rsa_n, m.rsa_e, Algorithm::RS256)));
  keys.push_back(must(Key::ec("ec", Curve::P256, m.p256_x, m.p256_y, std::nullopt)));
  keys.push_back(must(Key::ed25519(std::nullopt, m.ed25519_x, std::nullopt)));
  const KeySet set(std::move(keys));

  SUBCASE("by kid") {
    CHECK(*(*set.select(Algorithm::RS256, "rsa-b"))->kid() == "rsa-b");
    CHECK(set.select(Algorithm::RS384, "rsa-b").error() == Error::AlgKeyMismatch);
    CHECK(set.select(Algorithm::ES384, "ec").error() == Error::AlgKeyMismatch);
    CHECK(set.select(Algorithm::RS256, "rsa-c").error() == Error::UnknownKid);
    CHECK(set.select(Algorithm::RS256, "").error() == Error::UnknownKid);
  }
  SUBCASE("without kid: the only usable key, else refused") {
    CHECK((*set.select(Algorithm::EdDSA, std::nullopt))->type() == claimgate::jwt::KeyType::Okp);
    CHECK(*(*set.select(Algorithm::PS256, std::nullopt))->kid() == "rsa-a");
    CHECK(set.select(Algorithm::RS256, std::nullopt).error() == Error::UnknownKid);  // rsa-a and rsa-b
    CHECK(set.select(Algorithm::HS256, std::nullopt).error() == Error::AlgKeyMismatch);
    CHECK(KeySet().select(Algorithm::RS256, std::nullopt).error() == Error::UnknownKid);
  }
}
