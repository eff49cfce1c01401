#pragma once
// One verification key, parsed once (RSA and EC into OpenSSL EVP_PKEY objects) when its key set
// is built, so that verifying a token costs little more than the signature primitive itself.
// Immutable and cheap to copy: the OpenSSL object is shared.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "jwt/algorithm.h"
#include "jwt/key_error.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; kept out of this header

namespace claimgate::jwt {

enum class KeyType { Rsa, Ec, Okp, Oct };
enum class Curve { None, P256, P384, P521, Ed25519 };

inline constexpr std::size_t kMinRsaModulusBits = 2048;
// Checking a modulus costs a modular exponentiation of its size (about 3 ms at 2048 bits, 25 ms
// at 4096 and 110 ms at 8192 on a 2-core test machine), paid on every key-set load.
inline constexpr std::size_t kMaxRsaModulusBits = 8192;
inline constexpr std::size_t kMinHmacSecretBytes = 32;
inline constexpr std::size_t kEd25519PublicKeyBytes = 32;

// Field size of an EC curve in bytes (32, 48, 66): the length of each JWK coordinate and of
// each half of a JWS ECDSA signature. 0 for Curve::None and Ed25519.
std::size_t coordinate_bytes(Curve curve);

class Key {
 public:
  // Each factory takes big-endian unsigned integers and raw octets exactly as a JWK carries
  // them once base64url-decoded. `alg` is the key's own "alg" member, if it has one.
  static Result<Key, KeyError> rsa(std::optional<std::string> kid, std::string_view n, std::string_view e,
                                   std::optional<Algorithm> alg);
  static Result<Key, KeyError> ec(std::optional<std::string> kid, Curve curve, std::string_view x,
                                  std::string_view y, std::optional<Algorithm> alg);
  static Result<Key, KeyError> ed25519(std::optional<std::string> kid, std::string_view x,
                                       std::optional<Algorithm> alg);
  static Result<Key, KeyError> hmac(std::optional<std::string> kid, std::string_view secret,
                                    std::optional<Algorithm> alg);

  KeyType type() const { return type_; }
  Curve curve() const { return curve_; }
  const std::optional<std::string>& kid() const { return kid_; }
  std::optional<Algorithm> declared_alg() const { return alg_; }

  // True when kty, crv, the key's own alg and (for HMAC) the secret length all allow `alg`.
  bool can_verify(Algorithm alg) const;

  // The OpenSSL key of an RSA or EC key; nullptr otherwise.
  evp_pkey_st* evp_pkey() const { return pkey_.get(); }
  // The RSA modulus length in bytes, which every RSA signature must have exactly.
  std::size_t rsa_signature_bytes() const { return rsa_signature_bytes_; }
  // The Ed25519 public key or the HMAC secret; empty otherwise.
  std::string_view raw_bytes() const { return raw_; }

 private:
  Key(KeyType type, Curve curve, std::optional<std::string> kid, std::optional<Algorithm> alg)
      : type_(type), curve_(curve), kid_(std::move(kid)), alg_(alg) {}

  KeyType type_;
  Curve curve_;
  std::optional<std::string> kid_;
  std::optional<Algorithm> alg_;
  std::shared_ptr<evp_pkey_st> pkey_;
  std::size_t rsa_signature_bytes_ = 0;
  std::string raw_;
};

}  // namespace claimgate::jwt
