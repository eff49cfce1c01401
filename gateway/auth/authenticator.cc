#include "auth/authenticator.h"

#include "jwt/token.h"

namespace claimgate::auth {

namespace {
constexpr std::int64_t kMaxCacheWithoutExpS = 3600;
}

Authenticator::Authenticator(AuthSettings settings, std::vector<std::shared_ptr<keys::ProviderKeys>> providers)
    : settings_(std::move(settings)), claim_headers_(settings_), providers_(std::move(providers)) {}

std::optional<std::size_t> Authenticator::provider_by_issuer(std::string_view issuer) const {
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    if (providers_[i]->spec().verify.issuer == issuer) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> Authenticator::provider_by_name(std::string_view name) const {
  for (std::size_t i = 0; i < providers_.size(); ++i) {
    if (providers_[i]->spec().name == name) return i;
  }
  return std::nullopt;
}

TokenVerifier::TokenVerifier(std::shared_ptr<const Authenticator> authenticator, std::size_t cache_entries)
    : authenticator_(std::move(authenticator)),
      snapshots_(authenticator_->provider_count()),
      capacity_(cache_entries) {
  for (auto& s : snapshots_) s.first = ~std::uint64_t{0};
}

const keys::KeySnapshot* TokenVerifier::keys_of(std::size_t provider) {
  auto& [generation, snapshot] = snapshots_[provider];
  const keys::ProviderKeys& p = authenticator_->provider(provider);
  const std::uint64_t current = p.generation();
  if (generation != current) {
    snapshot = p.snapshot();
    generation = current;
  }
  return snapshot.get();
}

VerifyOutcome TokenVerifier::verify(std::string_view token, std::int64_t now) {
  if (capacity_ > 0) {
    if (auto it = cache_.find(token); it != cache_.end()) {
      const CacheEntry& e = it->second;
      const keys::KeySnapshot* keys = keys_of(e.identity->provider);
      if (keys && keys->generation == e.key_generation && now < e.valid_until) {
        ++stats_.hits;
        lru_.splice(lru_.begin(), lru_, e.lru);
        return {VerifyStatus::Verified, e.identity, {}, e.identity->provider};
      }
      lru_.erase(e.lru);
      cache_.erase(it);
    }
    ++stats_.misses;
  }

  const auto issuer = jwt::peek_issuer(token);
  if (!issuer) return {VerifyStatus::Invalid, nullptr, jwt::to_string(issuer.error()), 0};
  const auto provider = authenticator_->provider_by_issuer(*issuer);
  if (!provider) return {VerifyStatus::Invalid, nullptr, "unknown_issuer", 0};
  const keys::KeySnapshot* keys = keys_of(*provider);
  if (!keys) return {VerifyStatus::NoKeys, nullptr, "keys_unavailable", *provider};

  const keys::ProviderSpec& spec = authenticator_->provider(*provider).spec();
  auto verified = jwt::verify(token, keys->keys, spec.verify, now);
  if (!verified) {
    const auto status = verified.error() == jwt::Error::UnknownKid ? VerifyStatus::UnknownKid : VerifyStatus::Invalid;
    return {status, nullptr, jwt::to_string(verified.error()), *provider};
  }
  auto identity = std::make_shared<Identity>();
  identity->provider = *provider;
  identity->roles = verified->claims.strings_at(spec.roles_claim);
  identity->scopes = verified->claims.strings_at(spec.scopes_claim);
  const auto first_dot = token.find('.');
  identity->payload_segment = std::string(token.substr(first_dot + 1, token.rfind('.') - first_dot - 1));
  identity->token = std::move(*verified);
  IdentityPtr shared = std::move(identity);
  if (capacity_ > 0) remember(token, shared, keys->generation, now);
  return {VerifyStatus::Verified, std::move(shared), {}, *provider};
}

void TokenVerifier::remember(std::string_view token, const IdentityPtr& identity, std::uint64_t generation,
                             std::int64_t now) {
  const std::int64_t leeway = authenticator_->provider(identity->provider).spec().verify.leeway_s;
  const std::int64_t valid_until =
      identity->token.expires_at ? *identity->token.expires_at + leeway : now + kMaxCacheWithoutExpS;
  if (cache_.size() >= capacity_) {
    cache_.erase(lru_.back());
    lru_.pop_back();
    ++stats_.evictions;
  }
  lru_.emplace_front(token);
  cache_.emplace(lru_.front(), CacheEntry{identity, generation, valid_until, lru_.begin()});
}

}  // namespace claimgate::auth
