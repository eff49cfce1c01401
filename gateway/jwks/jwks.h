#pragma once
// JWK Set (RFC 7517 section 5) -> jwt::KeySet. Keys are validated and turned into OpenSSL or
// libsodium form here, once; a key that fails is skipped with a logged reason and the rest
// are kept.
#include <string_view>

#include "core/result.h"
#include "jwks/error.h"
#include "jwt/key_set.h"

namespace claimgate::jwks {

// Symmetric (kty "oct") keys are accepted only from local files, never from a fetched set.
enum class KeySource { Network, LocalFile };

// NotJson, NoKeysArray or DuplicateMember (top level) fail the set. Per key: "use" other than
// "sig" or "key_ops" without "verify" is ignored; kty RSA (n, e, at least 2048 bits), EC
// (P-256/384/521, point on the curve), OKP (Ed25519) and oct (LocalFile only) are accepted.
Result<jwt::KeySet, Error> parse_jwks(std::string_view json, KeySource source);

}  // namespace claimgate::jwks
