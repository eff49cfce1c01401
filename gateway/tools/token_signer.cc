#include "tools/token_signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "jwt/base64url.h"
#include "jwt/json_object.h"
#include "jwt/openssl_ptr.h"

namespace claimgate::tools {

namespace {

using jwt::OpensslPtr;

constexpr std::size_t kP256Bytes = 32;

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

std::string openssl_failure(std::string_view what) {
  ERR_clear_error();
  return std::string(what) + " failed (OpenSSL)";
}

bool ensure_sodium() { return sodium_init() >= 0; }


std::optional<std::string> string_member(const ClaimValue::Object& object, std::string_view name) {
  for (const auto& [n, v] : object) {
    if (n == name) return v.is_string() ? std::optional<std::string>(v.as_string()) : std::nullopt;
  }
  return std::nullopt;
}

// A base64url member that must decode to exactly `size` bytes, into `out`; the error otherwise.
// (An out-parameter: returning the decoded string in an expected trips GCC 12's -Warray-bounds.)
std::optional<std::string> bytes_member(const ClaimValue::Object& object, std::string_view name, std::size_t size,
                                        std::string& out) {
  const auto text = string_member(object, name);
  std::string error = "private JWK: \"";
  error.append(name);
  if (!text) return error.append("\" is missing or not a string");
  if (!jwt::decode_base64url(*text, out) || out.size() != size) {
    return error.append("\" is not ").append(std::to_string(size)).append(" base64url bytes");
  }
  return std::nullopt;
}

Result<std::string, std::string> bignum_bytes(const EVP_PKEY* pkey, const char* param) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) return fail(openssl_failure("EVP_PKEY_get_bn_param"));
  OpensslPtr<BIGNUM> bn(raw);
  std::string out(kP256Bytes, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) < 0) {
    return fail(openssl_failure("BN_bn2binpad"));
  }
  return out;
}

}  // namespace


Result<TokenSigner, std::string> TokenSigner::generate(jwt::Algorithm alg, std::string kid) {
  TokenSigner signer;
  signer.alg_ = alg;
  if (alg == jwt::Algorithm::EdDSA) {
    if (!ensure_sodium()) return fail(std::string("libsodium initialisation failed"));
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
    crypto_sign_keypair(pk.data(), sk.data());
    signer.ed_public_.assign(reinterpret_cast<const char*>(pk.data()), pk.size());
    signer.ed_secret_.assign(reinterpret_cast<const char*>(sk.data()), sk.size());
    sodium_memzero(sk.data(), sk.size());
  } else if (alg == jwt::Algorithm::ES256) {
    EVP_PKEY* raw = EVP_EC_gen("P-256");
    if (raw == nullptr) return fail(openssl_failure("EVP_EC_gen(P-256)"));
    signer.ec_key_ = std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free);
  } else {
    return fail("unsupported algorithm " + std::string(jwt::to_string(alg)) + " (use EdDSA or ES256)");
  }
  if (kid.empty()) {
    // The RFC 7638 thumbprint of the public key: stable and unique without being chosen.
    auto print = signer.thumbprint();
    if (!print) return fail(print.error());
    kid = std::move(*print);
  }
  signer.kid_ = std::move(kid);
  return signer;
}

Result<TokenSigner, std::string> TokenSigner::from_private_jwk(std::string_view json) {
  std::string text(json);
  text.reserve(text.size() + jwt::kJsonPadding);
  auto parsed = jwt::parse_json_object(text);
  if (!parsed) return fail("private JWK: not a JSON object (" + std::string(jwt::to_string(parsed.error())) + ")");
  const ClaimValue::Object& jwk = *parsed;
  const auto kty = string_member(jwk, "kty");
  const auto crv = string_member(jwk, "crv");
  const auto alg_name = string_member(jwk, "alg");

  TokenSigner signer;
  if (kty == "OKP" && crv == "Ed25519") {
    signer.alg_ = jwt::Algorithm::EdDSA;
    if (!ensure_sodium()) return fail(std::string("libsodium initialisation failed"));
    std::string x;
    std::string d;
    if (auto e = bytes_member(jwk, "x", crypto_sign_PUBLICKEYBYTES, x)) return fail(std::move(*e));
    if (auto e = bytes_member(jwk, "d", crypto_sign_SEEDBYTES, d)) return fail(std::move(*e));
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
    crypto_sign_seed_keypair(pk.data(), sk.data(), reinterpret_cast<const unsigned char*>(d.data()));
    sodium_memzero(d.data(), d.size());
    signer.ed_public_.assign(reinterpret_cast<const char*>(pk.data()), pk.size());
    signer.ed_secret_.assign(reinterpret_cast<const char*>(sk.data()), sk.size());
    sodium_memzero(sk.data(), sk.size());
    if (signer.ed_public_ != x) return fail(std::string("private JWK: \"x\" does not match the private key \"d\""));
  } else if (kty == "EC" && crv == "P-256") {
    signer.alg_ = jwt::Algorithm::ES256;
    std::string x;
    std::string y;
    std::string d;
    if (auto e = bytes_member(jwk, "x", kP256Bytes, x)) return fail(std::move(*e));
    if (auto e = bytes_member(jwk, "y", kP256Bytes, y)) return fail(std::move(*e));
    if (auto e = bytes_member(jwk, "d", kP256Bytes, d)) return fail(std::move(*e));
    const std::string point = "\x04" + x + y;
    OpensslPtr<BIGNUM> priv(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(d.data()), static_cast<int>(d.size()), nullptr));
    OPENSSL_cleanse(d.data(), d.size());
    OpensslPtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!priv || !bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1) {
      return fail(openssl_failure("building the EC key parameters"));
    }
    OpensslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
    OpensslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
      return fail(std::string("private JWK: not a valid P-256 key pair"));
    }
    signer.ec_key_ = std::shared_ptr<evp_pkey_st>(raw, EVP_PKEY_free);
    OpensslPtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
    if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
      ERR_clear_error();
      return fail(std::string("private JWK: \"x\"/\"y\" do not match the private key \"d\""));
    }
  } else {
    return fail(std::string("private JWK: unsupported key (need kty OKP with crv Ed25519, or kty EC with crv P-256)"));
  }
  if (alg_name && *alg_name != jwt::to_string(signer.alg_)) {
    return fail("private JWK: \"alg\" " + *alg_name + " does not fit the key (" +
                std::string(jwt::to_string(signer.alg_)) + ")");
  }
  if (auto kid = string_member(jwk, "kid")) {
    signer.kid_ = std::move(*kid);
  } else {
    auto print = signer.thumbprint();  // the same default as keygen
    if (!print) return fail(print.error());
    signer.kid_ = std::move(*print);
  }
  return signer;
}

Result<std::string, std::string> TokenSigner::thumbprint() const {
  // RFC 7638: SHA-256 over the required public members, in lexicographic order, no spaces.
  std::string canonical;
  if (alg_ == jwt::Algorithm::EdDSA) {
    canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + jwt::encode_base64url(ed_public_) + "\"}";
  } else {
    auto x = bignum_bytes(ec_key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    auto y = bignum_bytes(ec_key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
    if (!x) return fail(x.error());
    if (!y) return fail(y.error());
    canonical = R"({"crv":"P-256","kty":"EC","x":")" + jwt::encode_base64url(*x) + R"(","y":")" +
                jwt::encode_base64url(*y) + "\"}";
  }
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size());
  return jwt::encode_base64url(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string TokenSigner::jwk_members(bool with_private) const {
  std::string out;
  if (alg_ == jwt::Algorithm::EdDSA) {
    out = R"("kty":"OKP","crv":"Ed25519","x":")" + jwt::encode_base64url(ed_public_) + "\"";
    if (with_private) {
      out += R"(,"d":")" + jwt::encode_base64url(std::string_view(ed_secret_).substr(0, crypto_sign_SEEDBYTES)) + "\"";
    }
  } else {
    // The key was generated or checked by OpenSSL, so reading its parameters cannot fail short
    // of memory exhaustion; an empty member would then make the JWK unparseable, never wrong.
    const auto x = bignum_bytes(ec_key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    const auto y = bignum_bytes(ec_key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
    out = R"("kty":"EC","crv":"P-256","x":")" + (x ? jwt::encode_base64url(*x) : std::string()) + R"(","y":")" +
          (y ? jwt::encode_base64url(*y) : std::string()) + "\"";
    if (with_private) {
      auto d = bignum_bytes(ec_key_.get(), OSSL_PKEY_PARAM_PRIV_KEY);
      out += R"(,"d":")" + (d ? jwt::encode_base64url(*d) : std::string()) + "\"";
      if (d) OPENSSL_cleanse(d->data(), d->size());
    }
  }
  out += ",\"kid\":";
  out += to_json(ClaimValue(kid_));
  out += R"(,"alg":")" + std::string(jwt::to_string(alg_)) + R"(","use":"sig")";
  return out;
}

std::string TokenSigner::private_jwk() const { return "{" + jwk_members(true) + "}"; }

std::string TokenSigner::public_jwk() const { return "{" + jwk_members(false) + "}"; }

std::string TokenSigner::public_jwks() const { return "{\"keys\":[" + public_jwk() + "]}"; }

Result<std::string, std::string> TokenSigner::sign_raw(std::string_view signing_input) const {
  if (alg_ == jwt::Algorithm::EdDSA) {
    std::string sig(crypto_sign_BYTES, '\0');
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
                         reinterpret_cast<const unsigned char*>(ed_secret_.data()));
    return sig;
  }
  OpensslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, ec_key_.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, data, signing_input.size()) != 1) {
    return fail(openssl_failure("EVP_DigestSign"));
  }
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len, data, signing_input.size()) !=
      1) {
    return fail(openssl_failure("EVP_DigestSign"));
  }
  // DER ECDSA-Sig-Value -> the fixed-width R||S of RFC 7518 section 3.4.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return fail(openssl_failure("d2i_ECDSA_SIG"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * kP256Bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, kP256Bytes) < 0 || BN_bn2binpad(s, o + kP256Bytes, kP256Bytes) < 0) {
    return fail(openssl_failure("BN_bn2binpad"));
  }
  return out;
}

Result<std::string, std::string> TokenSigner::sign(const ClaimValue::Object& claims) const {
  std::string header = R"({"alg":")" + std::string(jwt::to_string(alg_)) + R"(","typ":"JWT","kid":)";
  header += to_json(ClaimValue(kid_));
  header += '}';
  std::string token = jwt::encode_base64url(header) + "." + jwt::encode_base64url(to_json(ClaimValue(claims)));
  auto signature = sign_raw(token);
  if (!signature) return fail(signature.error());
  token += '.';
  token += jwt::encode_base64url(*signature);
  return token;
}

}  // namespace claimgate::tools
