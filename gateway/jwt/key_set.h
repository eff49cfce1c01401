#pragma once
// A provider's keys: immutable once built, meant to be shared as std::shared_ptr<const KeySet>.
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "jwt/algorithm.h"
#include "jwt/error.h"
#include "jwt/key.h"

namespace claimgate::jwt {

class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<Key> keys) : keys_(std::move(keys)) {}

  const std::vector<Key>& keys() const { return keys_; }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // The one key a token may be checked against; no other key is ever tried.
  // - With a kid: the first key with that kid that can verify `alg`. An unknown kid is
  //   UnknownKid; a known kid whose keys cannot verify `alg` is AlgKeyMismatch.
  // - Without a kid: the key set's only key that can verify `alg`. Several such keys are
  //   ambiguous (UnknownKid); none is AlgKeyMismatch, or UnknownKid when the set is empty.
  Result<const Key*, Error> select(Algorithm alg, std::optional<std::string_view> kid) const;

 private:
  std::vector<Key> keys_;
};

}  // namespace claimgate::jwt
