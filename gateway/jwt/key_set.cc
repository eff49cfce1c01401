#include "jwt/key_set.h"

namespace claimgate::jwt {

Result<const Key*, Error> KeySet::select(Algorithm alg, std::optional<std::string_view> kid) const {
  if (kid) {
    bool kid_known = false;
    for (const Key& key : keys_) {
      if (!key.kid() || *key.kid() != *kid) continue;
      if (key.can_verify(alg)) return &key;
      kid_known = true;
    }
    return fail(kid_known ? Error::AlgKeyMismatch : Error::UnknownKid);
  }
  const Key* found = nullptr;
  for (const Key& key : keys_) {
    if (!key.can_verify(alg)) continue;
    if (found) return fail(Error::UnknownKid);
    found = &key;
  }
  if (found) return found;
  return fail(keys_.empty() ? Error::UnknownKid : Error::AlgKeyMismatch);
}

}  // namespace claimgate::jwt
