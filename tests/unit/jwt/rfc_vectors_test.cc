// Published vectors: RFC 7515 appendix A, RFC 8037 appendix A.4/A.5, RFC 7520 section 4. They
// are public test data, not secrets. Payloads that are not JWT claims (or whose exp passed in
// 2011) are checked at the signature layer or with `now` before their exp.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "jwt/key.h"
#include "jwt/key_set.h"
#include "jwt/signature.h"
#include "jwt/verify.h"
#include "rfc_keys.h"
#include "test_support.h"

using claimgate::jwt::Algorithm;
using claimgate::jwt::Curve;
using claimgate::jwt::Error;
using claimgate::jwt::Key;
using claimgate::jwt::KeySet;
using claimgate::jwt::verify;
using claimgate::jwt::verify_signature;
using claimgate::jwt::VerifyOptions;
using claimgate::test::decoded;
using claimgate::test::must;

namespace {

// RFC 7515 A.1-A.3 share this payload: {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
constexpr std::int64_t kJoeExp = 1300819380;

constexpr std::string_view kA1Token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kA1Key =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

constexpr std::string_view kA2Token =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dn"
    "ZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

constexpr std::string_view kA3Token =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// Payload "Payload".
constexpr std::string_view kA4Token =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3x"
    "KpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
constexpr std::string_view kA4X = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
constexpr std::string_view kA4Y = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";

// RFC 7515 A.5, an unsecured JWS.
constexpr std::string_view kA5Token =
    "eyJhbGciOiJub25lIn0."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

// RFC 8037 A.4: payload "Example of Ed25519 signing" under the A.2 key (rfc_keys.h).
constexpr std::string_view kEd25519Token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

// RFC 7520 section 4 payload (a Tolkien quote) and keys 3.1 (P-521), 3.3 (RSA), 3.5 (oct).
constexpr std::string_view kCookbookPayload =
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlm"
    "IHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
constexpr std::string_view kCookbookRsaN =
    "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_"
    "NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0Z"
    "CuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw";
constexpr std::string_view kCookbookRs256 =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
constexpr std::string_view kCookbookRs256Signature =
    "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-"
    "BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0e"
    "PPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18k"
    "DquDg";
constexpr std::string_view kCookbookPs384 =
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
constexpr std::string_view kCookbookPs384Signature =
    "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiU"
    "SMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2"
    "Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";
constexpr std::string_view kCookbookEcX =
    "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt";
constexpr std::string_view kCookbookEcY =
    "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1";
constexpr std::string_view kCookbookEs512 =
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
constexpr std::string_view kCookbookEs512Signature =
    "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7Xr"
    "T0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";
constexpr std::string_view kCookbookHmacKey = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";
constexpr std::string_view kCookbookHs256 =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9";
constexpr std::string_view kCookbookHs256Signature = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

KeySet one_key(Key key) {
  std::vector<Key> keys;
  keys.push_back(std::move(key));
  return KeySet(std::move(keys));
}

VerifyOptions joe_options(Algorithm alg) {
  VerifyOptions options;
  options.allowed_algorithms = {alg};
  options.issuer = "joe";
  return options;
}

std::string signing_input(std::string_view token) { return std::string(token.substr(0, token.rfind('.'))); }
std::string signature_of(std::string_view token) { return decoded(token.substr(token.rfind('.') + 1)); }

}  // namespace

TEST_CASE("RFC 7515 A.1 HS256") {
  const KeySet keys = one_key(must(Key::hmac(std::nullopt, decoded(kA1Key), std::nullopt)));
  const auto token = verify(kA1Token, keys, joe_options(Algorithm::HS256), kJoeExp - 1);
  REQUIRE(token.has_value());
  CHECK(token->issuer == "joe");
  CHECK(token->expires_at == kJoeExp);
  CHECK(token->alg == Algorithm::HS256);
  CHECK_FALSE(token->kid.has_value());
  // A member whose own name contains dots is still found by its full name.
  const auto* is_root = token->claims.find("http://example.com/is_root");
  REQUIRE(is_root != nullptr);
  CHECK(is_root->as_bool());
  CHECK(verify(kA1Token, keys, joe_options(Algorithm::HS256), kJoeExp).error() == Error::Expired);
}

TEST_CASE("RFC 7515 A.2 RS256") {
  const KeySet keys = one_key(must(Key::rsa(std::nullopt, decoded(claimgate::test::kRfc7515RsaN), decoded("AQAB"), std::nullopt)));
  CHECK(verify(kA2Token, keys, joe_options(Algorithm::RS256), kJoeExp - 1).has_value());
  CHECK(verify(kA2Token, keys, joe_options(Algorithm::PS256), kJoeExp - 1).error() == Error::AlgNotAllowed);
}

TEST_CASE("RFC 7515 A.3 ES256") {
  const KeySet keys =
      one_key(must(Key::ec(std::nullopt, Curve::P256, decoded(claimgate::test::kRfc7515P256X), decoded(claimgate::test::kRfc7515P256Y), std::nullopt)));
  CHECK(verify(kA3Token, keys, joe_options(Algorithm::ES256), kJoeExp - 1).has_value());
}

TEST_CASE("RFC 7515 A.4 ES512 (payload is not JSON: signature layer)") {
  const Key key = must(Key::ec(std::nullopt, Curve::P521, decoded(kA4X), decoded(kA4Y), std::nullopt));
  CHECK(verify_signature(Algorithm::ES512, key, signing_input(kA4Token), signature_of(kA4Token)).has_value());
  CHECK(verify_signature(Algorithm::ES512, key, signing_input(kA4Token) + "x", signature_of(kA4Token)).error() ==
        Error::BadSignature);
  // Through verify(): the signature holds, then the payload is refused as claims.
  CHECK(verify(kA4Token, one_key(key), joe_options(Algorithm::ES512), 0).error() == Error::BadJson);
}

TEST_CASE("RFC 7515 A.5 unsecured JWS is refused") {
  const KeySet keys = one_key(must(Key::hmac(std::nullopt, decoded(kA1Key), std::nullopt)));
  CHECK(verify(kA5Token, keys, joe_options(Algorithm::HS256), kJoeExp - 1).error() == Error::AlgNone);
}

TEST_CASE("RFC 8037 A.4/A.5 Ed25519") {
  const Key key = must(Key::ed25519(std::nullopt, decoded(claimgate::test::kRfc8037Ed25519X), std::nullopt));
  CHECK(verify_signature(Algorithm::EdDSA, key, signing_input(kEd25519Token), signature_of(kEd25519Token))
            .has_value());
  std::string tampered = signature_of(kEd25519Token);
  tampered[0] = static_cast<char>(tampered[0] ^ 1);
  CHECK(verify_signature(Algorithm::EdDSA, key, signing_input(kEd25519Token), tampered).error() ==
        Error::BadSignature);
  CHECK(verify(kEd25519Token, one_key(key), joe_options(Algorithm::EdDSA), 0).error() == Error::BadJson);
}

TEST_CASE("RFC 7520 section 4 (cookbook)") {
  const std::string payload = "." + std::string(kCookbookPayload);
  SUBCASE("4.1 RS256") {
    const Key key = must(Key::rsa("bilbo.baggins@hobbiton.example", decoded(kCookbookRsaN), decoded("AQAB"),
                                  std::nullopt));
    CHECK(verify_signature(Algorithm::RS256, key, std::string(kCookbookRs256) + payload,
                           decoded(kCookbookRs256Signature))
              .has_value());
  }
  SUBCASE("4.2 PS384") {
    const Key key = must(Key::rsa("bilbo.baggins@hobbiton.example", decoded(kCookbookRsaN), decoded("AQAB"),
                                  std::nullopt));
    CHECK(verify_signature(Algorithm::PS384, key, std::string(kCookbookPs384) + payload,
                           decoded(kCookbookPs384Signature))
              .has_value());
    CHECK(verify_signature(Algorithm::RS384, key, std::string(kCookbookPs384) + payload,
                           decoded(kCookbookPs384Signature))
              .error() == Error::BadSignature);
  }
  SUBCASE("4.3 ES512") {
    const Key key = must(Key::ec("bilbo.baggins@hobbiton.example", Curve::P521, decoded(kCookbookEcX),
                                 decoded(kCookbookEcY), std::nullopt));
    CHECK(verify_signature(Algorithm::ES512, key, std::string(kCookbookEs512) + payload,
                           decoded(kCookbookEs512Signature))
              .has_value());
  }
  SUBCASE("4.4 HS256") {
    const Key key = must(Key::hmac("018c0ae5-4d9b-471b-bfd6-eef314bc7037", decoded(kCookbookHmacKey),
                                   Algorithm::HS256));
    CHECK(verify_signature(Algorithm::HS256, key, std::string(kCookbookHs256) + payload,
                           decoded(kCookbookHs256Signature))
              .has_value());
    CHECK(verify_signature(Algorithm::HS384, key, std::string(kCookbookHs256) + payload,
                           decoded(kCookbookHs256Signature))
              .error() == Error::AlgKeyMismatch);
  }
}
