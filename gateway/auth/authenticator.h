#pragma once
// Token verification for the request path. Authenticator is shared and immutable (one per
// config); each worker thread owns a TokenVerifier, whose key-set copies and verified-token
// cache need no locks.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_settings.h"
#include "auth/claim_headers.h"
#include "auth/identity.h"
#include "auth/token_cache.h"
#include "keys/provider_keys.h"

namespace claimgate::auth {

class Authenticator {
 public:
  Authenticator(AuthSettings settings, std::vector<std::shared_ptr<keys::ProviderKeys>> providers);

  const AuthSettings& settings() const { return settings_; }
  const ClaimHeaders& claim_headers() const { return claim_headers_; }
  std::size_t provider_count() const { return providers_.size(); }
  keys::ProviderKeys& provider(std::size_t index) const { return *providers_[index]; }
  const std::shared_ptr<keys::ProviderKeys>& provider_ptr(std::size_t index) const { return providers_[index]; }
  std::optional<std::size_t> provider_by_issuer(std::string_view issuer) const;
  std::optional<std::size_t> provider_by_name(std::string_view name) const;

 private:
  AuthSettings settings_;
  ClaimHeaders claim_headers_;
  std::vector<std::shared_ptr<keys::ProviderKeys>> providers_;
};

enum class VerifyStatus { Verified, Invalid, NoKeys, UnknownKid, NotCached };

struct VerifyOutcome {
  VerifyStatus status = VerifyStatus::Invalid;
  IdentityPtr identity;         // Verified
  std::string_view reason;      // Invalid/UnknownKid: a stable name (jwt::to_string, or unknown_issuer)
  std::size_t provider = 0;     // NoKeys/UnknownKid/Verified
};

struct TokenCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
};

class TokenVerifier {
 public:
  // `cache_entries` is rounded up to a multiple of TokenCache::kWays; 0 disables the cache.
  TokenVerifier(std::shared_ptr<const Authenticator> authenticator, std::size_t cache_entries);

  // A cache hit allocates nothing: the identity is shared with the cache. `cached_only`: answer
  // NotCached (counted neither as hit nor miss) instead of checking a signature.
  VerifyOutcome verify(std::string_view token, std::int64_t now_unix_s, bool cached_only = false);

  const Authenticator& authenticator() const { return *authenticator_; }
  const TokenCacheStats& cache_stats() const { return stats_; }

 private:
  class Resolver;

  const keys::KeySnapshot* keys_of(std::size_t provider);
  void remember(std::string_view token, const IdentityPtr& identity, std::uint64_t generation, std::int64_t now);

  std::shared_ptr<const Authenticator> authenticator_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const keys::KeySnapshot>>> snapshots_;
  TokenCache cache_;
  TokenCacheStats stats_;
};

}  // namespace claimgate::auth
