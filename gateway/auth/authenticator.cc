#include "auth/authenticator.h"

#include <functional>

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

// ---- TokenCache -------------------------------------------------------------------------------

TokenCache::TokenCache(std::size_t capacity)
    : buckets_((capacity + kWays - 1) / kWays), slots_(buckets_.size() * kWays) {}

// The last kHashedTailBytes of a token are its signature: distinct for every token an issuer
// signed, so hashing only them spreads entries as well as hashing everything, for a fraction of
// the cost on long (RSA) tokens. Tokens that share a tail only share a bucket; the full compare
// in locate() still tells them apart.
std::uint64_t TokenCache::hash(std::string_view token) {
  constexpr std::size_t kHashedTailBytes = 48;
  const std::string_view tail = token.size() > kHashedTailBytes ? token.substr(token.size() - kHashedTailBytes) : token;
  return std::hash<std::string_view>{}(tail) ^ (token.size() * 0x9e3779b97f4a7c15ULL);
}

std::size_t TokenCache::locate(std::size_t bucket, std::uint32_t tag, std::string_view token) const {
  const Bucket& b = buckets_[bucket];
  for (std::size_t way = 0; way < kWays; ++way) {
    if (b.tags[way] == tag && slots_[bucket * kWays + way].token == token) return way;
  }
  return kWays;
}

namespace {
// Lemire's multiply-shift range reduction: the low 32 bits of the hash onto [0, n).
std::size_t bucket_of(std::uint64_t h, std::size_t n) {
  return static_cast<std::size_t>(((h & 0xffffffffu) * static_cast<std::uint64_t>(n)) >> 32);
}
}  // namespace

const TokenCache::Entry* TokenCache::find(std::string_view token) {
  if (buckets_.empty()) return nullptr;
  const std::uint64_t h = hash(token);
  const std::size_t bucket = bucket_of(h, buckets_.size());
  const std::size_t way = locate(bucket, tag_of(h), token);
  if (way == kWays) return nullptr;
  buckets_[bucket].referenced |= static_cast<std::uint8_t>(1u << way);
  return &slots_[bucket * kWays + way].entry;
}

bool TokenCache::insert(std::string_view token, Entry entry) {
  if (buckets_.empty()) return false;
  const std::uint64_t h = hash(token);
  const std::uint32_t tag = tag_of(h);
  const std::size_t bucket = bucket_of(h, buckets_.size());
  Bucket& b = buckets_[bucket];
  std::size_t way = locate(bucket, tag, token);
  bool evicted = false;
  if (way == kWays) {
    for (way = 0; way < kWays && b.tags[way] != 0; ++way) {
    }
    if (way == kWays) {
      // CLOCK: clear reference bits from the hand on until an unreferenced slot comes up.
      while (b.referenced & (1u << b.hand)) {
        b.referenced = static_cast<std::uint8_t>(b.referenced & ~(1u << b.hand));
        b.hand = static_cast<std::uint8_t>((b.hand + 1) % kWays);
      }
      way = b.hand;
      b.hand = static_cast<std::uint8_t>((b.hand + 1) % kWays);
      evicted = true;
    } else {
      ++size_;
    }
  }
  Slot& slot = slots_[bucket * kWays + way];
  slot.token.assign(token);  // reuses the slot's capacity
  slot.entry = std::move(entry);
  b.tags[way] = tag;
  b.referenced = static_cast<std::uint8_t>(b.referenced & ~(1u << way));
  return evicted;
}

void TokenCache::erase(std::string_view token) {
  if (buckets_.empty()) return;
  const std::uint64_t h = hash(token);
  const std::size_t bucket = bucket_of(h, buckets_.size());
  const std::size_t way = locate(bucket, tag_of(h), token);
  if (way == kWays) return;
  Bucket& b = buckets_[bucket];
  b.tags[way] = 0;
  b.referenced = static_cast<std::uint8_t>(b.referenced & ~(1u << way));
  Slot& slot = slots_[bucket * kWays + way];
  slot.token.clear();  // keeps its capacity for the next token
  slot.entry = {};
  --size_;
}

// ---- TokenVerifier ----------------------------------------------------------------------------

// Picks the provider by the token's unverified iss, and remembers which one (or why none).
class TokenVerifier::Resolver final : public jwt::IssuerResolver {
 public:
  explicit Resolver(TokenVerifier& verifier) : verifier_(verifier) {}

  std::optional<jwt::IssuerBinding> resolve(std::string_view issuer) override {
    const auto provider = verifier_.authenticator_->provider_by_issuer(issuer);
    if (!provider) {
      outcome = Outcome::UnknownIssuer;
      return std::nullopt;
    }
    index = *provider;
    keys = verifier_.keys_of(*provider);
    if (!keys) {
      outcome = Outcome::NoKeys;
      return std::nullopt;
    }
    outcome = Outcome::Bound;
    return jwt::IssuerBinding{&keys->keys, &verifier_.authenticator_->provider(*provider).spec().verify};
  }

  enum class Outcome { NotAsked, UnknownIssuer, NoKeys, Bound };
  Outcome outcome = Outcome::NotAsked;
  std::size_t index = 0;
  const keys::KeySnapshot* keys = nullptr;

 private:
  TokenVerifier& verifier_;
};

TokenVerifier::TokenVerifier(std::shared_ptr<const Authenticator> authenticator, std::size_t cache_entries)
    : authenticator_(std::move(authenticator)), snapshots_(authenticator_->provider_count()), cache_(cache_entries) {
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

VerifyOutcome TokenVerifier::verify(std::string_view token, std::int64_t now, bool cached_only) {
  if (cache_.capacity() > 0) {
    if (const TokenCache::Entry* e = cache_.find(token)) {
      const std::size_t provider = e->identity->provider;
      const keys::KeySnapshot* keys = keys_of(provider);
      if (keys && keys->generation == e->key_generation && now < e->valid_until) {
        ++stats_.hits;
        return {VerifyStatus::Verified, e->identity, {}, provider};
      }
      cache_.erase(token);
    }
  }
  if (cached_only) return {VerifyStatus::NotCached, nullptr, {}, 0};
  if (cache_.capacity() > 0) ++stats_.misses;

  Resolver resolver(*this);
  auto verified = jwt::verify(token, resolver, now);
  switch (resolver.outcome) {
    case Resolver::Outcome::NotAsked:
      return {VerifyStatus::Invalid, nullptr, jwt::to_string(verified.error()), 0};
    case Resolver::Outcome::UnknownIssuer: return {VerifyStatus::Invalid, nullptr, "unknown_issuer", 0};
    case Resolver::Outcome::NoKeys: return {VerifyStatus::NoKeys, nullptr, "keys_unavailable", resolver.index};
    case Resolver::Outcome::Bound: break;
  }
  const std::size_t provider = resolver.index;
  if (!verified) {
    const auto status = verified.error() == jwt::Error::UnknownKid ? VerifyStatus::UnknownKid : VerifyStatus::Invalid;
    return {status, nullptr, jwt::to_string(verified.error()), provider};
  }
  const keys::ProviderSpec& spec = authenticator_->provider(provider).spec();
  auto identity = std::make_shared<Identity>();
  identity->provider = provider;
  identity->roles = verified->claims.strings_at(spec.roles_claim);
  identity->scopes = verified->claims.strings_at(spec.scopes_claim);
  if (!authenticator_->settings().payload_header.empty()) {
    const auto first_dot = token.find('.');
    identity->payload_segment = std::string(token.substr(first_dot + 1, token.rfind('.') - first_dot - 1));
  }
  identity->token = std::move(*verified);
  IdentityPtr shared = std::move(identity);
  if (cache_.capacity() > 0) remember(token, shared, resolver.keys->generation, now);
  return {VerifyStatus::Verified, std::move(shared), {}, provider};
}

void TokenVerifier::remember(std::string_view token, const IdentityPtr& identity, std::uint64_t generation,
                             std::int64_t now) {
  const std::int64_t leeway = authenticator_->provider(identity->provider).spec().verify.leeway_s;
  const std::int64_t valid_until =
      identity->token.expires_at ? *identity->token.expires_at + leeway : now + kMaxCacheWithoutExpS;
  if (cache_.insert(token, TokenCache::Entry{identity, generation, valid_until})) ++stats_.evictions;
}

}  // namespace claimgate::auth
