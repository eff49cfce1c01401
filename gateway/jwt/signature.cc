#include "jwt/signature.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "jwt/openssl_ptr.h"

namespace claimgate::jwt {
namespace {

using Bytes = const unsigned char*;

Bytes bytes(std::string_view s) { return reinterpret_cast<Bytes>(s.data()); }

// Fetched once and kept for the process: handing EVP_sha256() to EVP_DigestVerifyInit makes
// OpenSSL 3 look the implementation up again (under a lock) on every verification.
const EVP_MD* fetched(const char* name, const EVP_MD* fallback) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) ERR_clear_error();
  return md ? md : fallback;
}

const EVP_MD* digest_for(Algorithm alg) {
  static const EVP_MD* const sha256 = fetched("SHA256", EVP_sha256());
  static const EVP_MD* const sha384 = fetched("SHA384", EVP_sha384());
  static const EVP_MD* const sha512 = fetched("SHA512", EVP_sha512());
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::RS256:
    case Algorithm::PS256:
    case Algorithm::ES256: return sha256;
    case Algorithm::HS384:
    case Algorithm::RS384:
    case Algorithm::PS384:
    case Algorithm::ES384: return sha384;
    case Algorithm::HS512:
    case Algorithm::RS512:
    case Algorithm::PS512:
    case Algorithm::ES512: return sha512;
    case Algorithm::EdDSA: break;
  }
  return nullptr;
}

bool is_pss(Algorithm alg) { return alg == Algorithm::PS256 || alg == Algorithm::PS384 || alg == Algorithm::PS512; }

// Group orders n (SEC 2 / FIPS 186-4), big-endian at the curve's field size.
template <std::size_t N>
constexpr auto hex_bytes(const char (&hex)[N]) {
  std::array<unsigned char, (N - 1) / 2> out{};
  const auto nibble = [](char c) { return static_cast<unsigned char>(c <= '9' ? c - '0' : c - 'A' + 10); };
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}
constexpr auto kOrderP256 = hex_bytes("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
constexpr auto kOrderP384 = hex_bytes(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973");
constexpr auto kOrderP521 = hex_bytes(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
    "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409");
static_assert(kOrderP256.size() == 32 && kOrderP384.size() == 48 && kOrderP521.size() == 66);

const unsigned char* order_of(Curve curve) {
  switch (curve) {
    case Curve::P256: return kOrderP256.data();
    case Curve::P384: return kOrderP384.data();
    case Curve::P521: return kOrderP521.data();
    case Curve::None:
    case Curve::Ed25519: break;
  }
  return nullptr;
}

// ECDSA integers must satisfy 0 < v < n (SEC 1 section 4.1.4, step 1).
bool in_scalar_range(Bytes v, Bytes order, std::size_t size) {
  const bool zero = std::all_of(v, v + size, [](unsigned char b) { return b == 0; });
  return !zero && std::memcmp(v, order, size) < 0;
}

// DER INTEGER from a big-endian unsigned value: minimal length, 0x00 prefix when the top bit
// is set. `out` has room: a value is at most 66 bytes, so every length fits in one octet.
std::size_t put_der_integer(unsigned char* out, Bytes v, std::size_t size) {
  while (size > 1 && *v == 0) {
    ++v;
    --size;
  }
  const bool pad = (*v & 0x80) != 0;
  std::size_t at = 0;
  out[at++] = 0x02;
  out[at++] = static_cast<unsigned char>(size + (pad ? 1 : 0));
  if (pad) out[at++] = 0x00;
  std::memcpy(out + at, v, size);
  return at + size;
}

// JWS ECDSA signatures are R || S at the field size (RFC 7518 section 3.4); OpenSSL wants DER.
std::size_t raw_ecdsa_to_der(Bytes raw, std::size_t half, std::array<unsigned char, 160>& der) {
  std::array<unsigned char, 140> body;
  std::size_t body_size = put_der_integer(body.data(), raw, half);
  body_size += put_der_integer(body.data() + body_size, raw + half, half);
  std::size_t at = 0;
  der[at++] = 0x30;
  if (body_size >= 0x80) der[at++] = 0x81;
  der[at++] = static_cast<unsigned char>(body_size);
  std::memcpy(der.data() + at, body.data(), body_size);
  return at + body_size;
}

// One verification context per (key, algorithm) and thread, set up once (EVP_PKEY_verify_init
// fetches the signature implementation, and PSS parameters are parsed) and reused for every
// signature after that: EVP_DigestVerifyInit repeats that work, allocates a context and takes
// OpenSSL's store lock on every call. The digest is computed separately on a reused context.
// The context works on this thread's own copy of the key (EVP_PKEY_dup), so that threads share
// no reference counts, locks or cached Montgomery values inside OpenSSL's key objects.
// A slot keeps a reference on the key set's EVP_PKEY it was made for, so that pointer cannot be
// reused by another key while the slot lives; slots are few and recycled round-robin, so keys
// from old key sets are released after a rotation.
struct VerifySlot {
  OpensslPtr<EVP_PKEY> key;  // the key set's object, up-referenced: identifies the slot
  Algorithm alg = Algorithm::RS256;
  OpensslPtr<EVP_PKEY_CTX> ctx;
};

constexpr std::size_t kVerifySlots = 16;

struct ThreadVerifyState {
  std::array<VerifySlot, kVerifySlots> slots;
  std::size_t next = 0;
  OpensslPtr<EVP_MD_CTX> digest{EVP_MD_CTX_new()};
};

ThreadVerifyState& thread_verify_state() {
  thread_local ThreadVerifyState state;
  return state;
}

OpensslPtr<EVP_PKEY_CTX> new_verify_ctx(Algorithm alg, EVP_PKEY* pkey) {
  // The context holds its own reference on the copy.
  OpensslPtr<EVP_PKEY> copy(EVP_PKEY_dup(pkey));
  if (!copy) ERR_clear_error();
  OpensslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, copy ? copy.get() : pkey, nullptr));
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 && EVP_PKEY_CTX_set_signature_md(ctx.get(), digest_for(alg)) == 1;
  // An RSA key defaults to PKCS#1 v1.5 padding (RS*). For PS*, RFC 7518 section 3.5 wants MGF1
  // with the signature's hash (OpenSSL's default) and a salt as long as that hash.
  if (ok && is_pss(alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  if (!ok) {
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

EVP_PKEY_CTX* verify_ctx(ThreadVerifyState& state, Algorithm alg, EVP_PKEY* pkey) {
  for (VerifySlot& slot : state.slots) {
    if (slot.key.get() == pkey && slot.alg == alg && slot.ctx) return slot.ctx.get();
  }
  OpensslPtr<EVP_PKEY_CTX> ctx = new_verify_ctx(alg, pkey);
  if (!ctx || EVP_PKEY_up_ref(pkey) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  VerifySlot& slot = state.slots[state.next];
  state.next = (state.next + 1) % kVerifySlots;
  slot.ctx = std::move(ctx);
  slot.key.reset(pkey);
  slot.alg = alg;
  return slot.ctx.get();
}

bool digest_verify(Algorithm alg, EVP_PKEY* pkey, std::string_view input, Bytes sig, std::size_t sig_size) {
  if (pkey == nullptr) return false;
  ThreadVerifyState& state = thread_verify_state();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int digest_size = 0;
  EVP_PKEY_CTX* ctx = nullptr;
  const bool ok = state.digest && EVP_DigestInit_ex2(state.digest.get(), digest_for(alg), nullptr) == 1 &&
                  EVP_DigestUpdate(state.digest.get(), input.data(), input.size()) == 1 &&
                  EVP_DigestFinal_ex(state.digest.get(), digest.data(), &digest_size) == 1 &&
                  (ctx = verify_ctx(state, alg, pkey)) != nullptr &&
                  EVP_PKEY_verify(ctx, sig, sig_size, digest.data(), digest_size) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

bool verify_hmac(Algorithm alg, const Key& key, std::string_view input, std::string_view signature) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac;
  unsigned int mac_size = 0;
  const std::string_view secret = key.raw_bytes();
  if (HMAC(digest_for(alg), secret.data(), static_cast<int>(secret.size()), bytes(input), input.size(), mac.data(),
           &mac_size) == nullptr) {
    ERR_clear_error();
    return false;
  }
  return signature.size() == mac_size && CRYPTO_memcmp(mac.data(), signature.data(), mac_size) == 0;
}

bool verify_ecdsa(Algorithm alg, const Key& key, std::string_view input, std::string_view signature) {
  const std::size_t half = coordinate_bytes(key.curve());
  if (half == 0 || signature.size() != 2 * half) return false;
  const Bytes r = bytes(signature);
  const Bytes s = r + half;
  const Bytes order = order_of(key.curve());
  if (!in_scalar_range(r, order, half) || !in_scalar_range(s, order, half)) return false;
  std::array<unsigned char, 160> der;
  const std::size_t der_size = raw_ecdsa_to_der(r, half, der);
  return digest_verify(alg, key.evp_pkey(), input, der.data(), der_size);
}

bool verify_with(Algorithm alg, const Key& key, std::string_view input, std::string_view signature) {
  switch (alg) {
    case Algorithm::HS256:
    case Algorithm::HS384:
    case Algorithm::HS512: return verify_hmac(alg, key, input, signature);
    case Algorithm::RS256:
    case Algorithm::RS384:
    case Algorithm::RS512:
    case Algorithm::PS256:
    case Algorithm::PS384:
    case Algorithm::PS512:
      // Exactly the modulus length: RFC 8017 sections 8.1.2 and 8.2.2, step 1 (OpenSSL 3.0 accepts
      // a PSS signature one octet short).
      return signature.size() == key.rsa_signature_bytes() &&
             digest_verify(alg, key.evp_pkey(), input, bytes(signature), signature.size());
    case Algorithm::ES256:
    case Algorithm::ES384:
    case Algorithm::ES512: return verify_ecdsa(alg, key, input, signature);
    case Algorithm::EdDSA:
      return signature.size() == crypto_sign_BYTES && key.raw_bytes().size() == crypto_sign_PUBLICKEYBYTES &&
             crypto_sign_verify_detached(bytes(signature), bytes(input), input.size(), bytes(key.raw_bytes())) == 0;
  }
  return false;
}

}  // namespace

Result<void, Error> verify_signature(Algorithm alg, const Key& key, std::string_view signing_input,
                                     std::string_view signature) {
  if (!key.can_verify(alg)) return fail(Error::AlgKeyMismatch);
  if (!verify_with(alg, key, signing_input, signature)) return fail(Error::BadSignature);
  return {};
}

}  // namespace claimgate::jwt
