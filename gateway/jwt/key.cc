#include "jwt/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <sodium.h>

#include <array>
#include <bit>

#include "jwt/openssl_ptr.h"

namespace claimgate::jwt {
namespace {

std::size_t bit_length(std::string_view big_endian) {
  const auto first = big_endian.find_first_not_of('\0');
  if (first == std::string_view::npos) return 0;
  const auto top = static_cast<unsigned char>(big_endian[first]);
  return (big_endian.size() - first - 1) * 8 + static_cast<std::size_t>(std::bit_width(top));
}

enum class PublicCheck { OpenSsl, AlreadyDone };

OpensslPtr<EVP_PKEY> public_key_from(const char* type, const OSSL_PARAM* params, PublicCheck check_mode) {
  OpensslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  OpensslPtr<EVP_PKEY> owned(pkey);
  if (check_mode == PublicCheck::AlreadyDone) return owned;
  OpensslPtr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, owned.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return owned;
}

// The odd primes below 752, the bound of SP 800-56B's small-factor check on an RSA modulus.
constexpr bool is_prime(unsigned n) {
  if (n < 2) return false;
  for (unsigned d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}
constexpr std::size_t kSmallFactorBound = 752;
constexpr std::size_t count_odd_primes_below(unsigned bound) {
  std::size_t count = 0;
  for (unsigned n = 3; n < bound; n += 2) count += is_prime(n) ? 1 : 0;
  return count;
}
constexpr auto kSmallOddPrimes = [] {
  std::array<unsigned, count_odd_primes_below(kSmallFactorBound)> primes{};
  std::size_t i = 0;
  for (unsigned n = 3; n < kSmallFactorBound; n += 2) {
    if (is_prime(n)) primes[i++] = n;
  }
  return primes;
}();

// OpenSSL 3's EVP_PKEY_public_check on an RSA key ends with a Miller-Rabin test with random bases
// that also refuses the modulus when a base happens to expose a factor, so the same modulus could
// pass one parse and fail the next (key_test.cc has one). Parsing a key set must not depend on
// chance, so RSA keys get OpenSSL's other checks here and a plain primality test instead:
// odd n with no factor below 752 that is not prime, and an odd exponent 1 < e < 2^256.
bool rsa_public_numbers_valid(const BIGNUM* n, const BIGNUM* e) {
  if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 256) return false;
  for (const unsigned prime : kSmallOddPrimes) {
    if (BN_mod_word(n, prime) == 0) return false;
  }
  OpensslPtr<BN_CTX> ctx(BN_CTX_new());
  // A prime is always reported prime; a composite is reported prime with probability below 2^-128.
  const bool composite = ctx && BN_check_prime(n, ctx.get(), nullptr) == 0;
  ERR_clear_error();
  return composite;
}

const char* group_name(Curve curve) {
  switch (curve) {
    case Curve::P256: return "prime256v1";
    case Curve::P384: return "secp384r1";
    case Curve::P521: return "secp521r1";
    case Curve::None:
    case Curve::Ed25519: break;
  }
  return nullptr;
}

std::size_t hmac_output_bytes(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS256: return 32;
    case Algorithm::HS384: return 48;
    case Algorithm::HS512: return 64;
    default: return 0;
  }
}

Result<Key, KeyError> checked_declared_alg(Key key) {
  if (key.declared_alg() && !key.can_verify(*key.declared_alg())) return fail(KeyError::AlgNotForKey);
  return key;
}

}  // namespace

std::size_t coordinate_bytes(Curve curve) {
  switch (curve) {
    case Curve::P256: return 32;
    case Curve::P384: return 48;
    case Curve::P521: return 66;
    case Curve::None:
    case Curve::Ed25519: break;
  }
  return 0;
}

Result<Key, KeyError> Key::rsa(std::optional<std::string> kid, std::string_view n, std::string_view e,
                               std::optional<Algorithm> alg) {
  if (bit_length(n) < kMinRsaModulusBits) return fail(KeyError::RsaModulusTooSmall);
  if (bit_length(n) > kMaxRsaModulusBits) return fail(KeyError::RsaModulusTooLarge);
  if (bit_length(e) == 0) return fail(KeyError::BadRsaKey);
  const auto bn = [](std::string_view bytes) {
    return OpensslPtr<BIGNUM>(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
  };
  const auto n_bn = bn(n);
  const auto e_bn = bn(e);
  OpensslPtr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!n_bn || !e_bn || !rsa_public_numbers_valid(n_bn.get(), e_bn.get())) return fail(KeyError::BadRsaKey);
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    ERR_clear_error();
    return fail(KeyError::BadRsaKey);
  }
  OpensslPtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder.get()));
  if (!params) {
    ERR_clear_error();
    return fail(KeyError::BadRsaKey);
  }
  OpensslPtr<EVP_PKEY> pkey = public_key_from("RSA", params.get(), PublicCheck::AlreadyDone);
  if (!pkey) return fail(KeyError::BadRsaKey);
  Key key(KeyType::Rsa, Curve::None, std::move(kid), alg);
  key.rsa_signature_bytes_ = static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()));
  key.pkey_ = std::shared_ptr<evp_pkey_st>(pkey.release(), OpensslFree{});
  return checked_declared_alg(std::move(key));
}

Result<Key, KeyError> Key::ec(std::optional<std::string> kid, Curve curve, std::string_view x, std::string_view y,
                              std::optional<Algorithm> alg) {
  const std::size_t size = coordinate_bytes(curve);
  if (size == 0 || x.size() != size || y.size() != size) return fail(KeyError::BadCoordinateLength);
  // SEC 1 uncompressed point: 0x04 || x || y.
  std::array<unsigned char, 1 + 2 * 66> point{};
  point[0] = 0x04;
  x.copy(reinterpret_cast<char*>(point.data()) + 1, size);
  y.copy(reinterpret_cast<char*>(point.data()) + 1 + size, size);
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group_name(curve)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), 1 + 2 * size),
      OSSL_PARAM_construct_end(),
  };
  OpensslPtr<EVP_PKEY> pkey = public_key_from("EC", params, PublicCheck::OpenSsl);
  if (!pkey) return fail(KeyError::PointNotOnCurve);
  Key key(KeyType::Ec, curve, std::move(kid), alg);
  key.pkey_ = std::shared_ptr<evp_pkey_st>(pkey.release(), OpensslFree{});
  return checked_declared_alg(std::move(key));
}

Result<Key, KeyError> Key::ed25519(std::optional<std::string> kid, std::string_view x,
                                   std::optional<Algorithm> alg) {
  if (sodium_init() < 0) return fail(KeyError::BadEd25519Key);
  // is_valid_point also refuses small-order and non-canonical encodings.
  if (x.size() != kEd25519PublicKeyBytes ||
      crypto_core_ed25519_is_valid_point(reinterpret_cast<const unsigned char*>(x.data())) != 1) {
    return fail(KeyError::BadEd25519Key);
  }
  Key key(KeyType::Okp, Curve::Ed25519, std::move(kid), alg);
  key.raw_ = x;
  return checked_declared_alg(std::move(key));
}

Result<Key, KeyError> Key::hmac(std::optional<std::string> kid, std::string_view secret,
                                std::optional<Algorithm> alg) {
  if (secret.size() < kMinHmacSecretBytes) return fail(KeyError::HmacSecretTooShort);
  Key key(KeyType::Oct, Curve::None, std::move(kid), alg);
  key.raw_ = secret;
  return checked_declared_alg(std::move(key));
}

bool Key::can_verify(Algorithm alg) const {
  if (alg_ && *alg_ != alg) return false;
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::HS384:
    case Algorithm::HS512:
      // RFC 7518 section 3.2: the secret is at least as long as the hash output.
      return type_ == KeyType::Oct && raw_.size() >= hmac_output_bytes(alg);
    case Algorithm::RS256:
    case Algorithm::RS384:
    case Algorithm::RS512:
    case Algorithm::PS256:
    case Algorithm::PS384:
    case Algorithm::PS512: return type_ == KeyType::Rsa;
    case Algorithm::ES256: return type_ == KeyType::Ec && curve_ == Curve::P256;
    case Algorithm::ES384: return type_ == KeyType::Ec && curve_ == Curve::P384;
    case Algorithm::ES512: return type_ == KeyType::Ec && curve_ == Curve::P521;
    case Algorithm::EdDSA: return type_ == KeyType::Okp && curve_ == Curve::Ed25519;
  }
  return false;
}

}  // namespace claimgate::jwt
