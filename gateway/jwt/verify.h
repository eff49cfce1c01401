#pragma once
// Full verification of a compact JWS carrying JWT claims: size, segments, header, algorithm and
// key binding, signature, then the registered claims. Time is an argument; nothing here reads a
// clock, a file or a socket.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/result.h"
#include "jwt/algorithm.h"
#include "jwt/error.h"
#include "jwt/key_set.h"
#include "jwt/token.h"

namespace claimgate::jwt {

struct VerifyOptions {
  // The provider's allow-list, normally the output of validate_algorithm_list().
  std::vector<Algorithm> allowed_algorithms;
  // Required, and "iss" must equal it exactly.
  std::string issuer;
  // When not empty, "aud" (a string or an array of strings) must contain one of these.
  // When empty, "aud" is not checked.
  std::vector<std::string> audiences;
  std::int64_t leeway_s = 0;
  bool require_exp = true;
  // exp - iat (exp - now when there is no iat) must not exceed this; exp is then required.
  std::optional<std::int64_t> max_lifetime_s;
  // Dotted paths ("permissions.pma.role") that must be present and not null.
  std::vector<std::string> required_claims;
  std::size_t max_token_bytes = kDefaultMaxTokenBytes;
};

struct VerifiedToken {
  Claims claims;
  Algorithm alg;
  std::optional<std::string> kid;
  std::string issuer;
  std::optional<std::string> subject;
  std::optional<std::int64_t> expires_at;  // exp rounded down, when present
};

// Header rules: "alg" is matched case-sensitively against `options.allowed_algorithms` ("none"
// in any case is AlgNone); any "crit" is rejected because no extension is supported; "jku",
// "x5u", "jwk" and "x5c" are never read; "kid" only selects a key in `keys` (see
// KeySet::select). Times compare as now >= exp + leeway (expired), now + leeway < nbf,
// iat > now + leeway.
Result<VerifiedToken, Error> verify(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                                    std::int64_t now_unix_s);

// Where verify() below finds the keys and rules for a token: asked once, with the token's
// unverified "iss", for the provider that vouches for that issuer.
struct IssuerBinding {
  const KeySet* keys;
  const VerifyOptions* options;
};
class IssuerResolver {
 public:
  // nullopt stops verification (verify() then fails with WrongIssuer; the resolver knows why).
  virtual std::optional<IssuerBinding> resolve(std::string_view issuer) = 0;

 protected:
  ~IssuerResolver() = default;
};

// peek_issuer() and the verify() above in one pass: the payload is decoded and parsed once, its
// "iss" picks the binding, and the claims come from the same parse once the signature holds.
// Errors are those of peek_issuer(token, max_token_bytes) first, then those of verify() with the
// binding's key set and options (its max_token_bytes included).
Result<VerifiedToken, Error> verify(std::string_view token, IssuerResolver& resolver, std::int64_t now_unix_s,
                                    std::size_t max_token_bytes = kDefaultMaxTokenBytes);

// The unverified "iss" of a token, to choose the provider whose keys will verify it.
Result<std::string, Error> peek_issuer(std::string_view token, std::size_t max_token_bytes = kDefaultMaxTokenBytes);

}  // namespace claimgate::jwt
