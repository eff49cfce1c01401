#pragma once
// Key material from local files: a JWKS file (which may hold oct keys) or a raw HMAC secret.
#include <cstddef>
#include <string>

#include "core/result.h"
#include "jwks/error.h"
#include "jwt/key_set.h"

namespace claimgate::jwks {

inline constexpr std::size_t kMaxJwksFileBytes = 1024 * 1024;
inline constexpr std::size_t kMaxSecretFileBytes = 4096;

// parse_jwks(contents, KeySource::LocalFile); FileUnreadable or FileTooLarge first.
Result<jwt::KeySet, Error> load_jwks_file(const std::string& path);

// The file's bytes are the secret, less one trailing "\n" or "\r\n" (what editors and `echo`
// add); at least 32 bytes must remain. The key has no kid and no alg, so it serves any HS*
// algorithm the provider allows whose hash is no longer than the secret.
Result<jwt::KeySet, Error> load_hmac_secret_file(const std::string& path);

}  // namespace claimgate::jwks
