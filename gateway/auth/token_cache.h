#pragma once
// The verified-token cache of one worker thread: a fixed-capacity, set-associative table keyed
// by the token's bytes. Storage is allocated once, when the cache is built: a lookup never
// allocates, and an insert allocates only when the token is longer than any token its slot held
// before. Eight slots per bucket; a 64-bit hash picks the bucket and a tag per slot filters,
// then the whole token is compared (the hash is not a secret, so it never decides alone).
// Eviction is CLOCK within the bucket: a hit sets the slot's reference bit, and the hand clears
// reference bits until it finds a slot without one.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/identity.h"

namespace claimgate::auth {

class TokenCache {
 public:
  struct Entry {
    IdentityPtr identity;
    std::uint64_t key_generation = 0;
    std::int64_t valid_until = 0;  // exp + leeway
  };

  static constexpr std::size_t kWays = 8;

  // Room for `capacity` tokens rounded up to a multiple of kWays; 0 disables the cache.
  explicit TokenCache(std::size_t capacity);

  std::size_t capacity() const { return buckets_.size() * kWays; }
  std::size_t size() const { return size_; }

  // The entry for exactly this token, or nullptr. Marks it recently used.
  const Entry* find(std::string_view token);
  // Inserts or replaces; true when another token was evicted to make room.
  bool insert(std::string_view token, Entry entry);
  // Drops the token's entry if there is one (e.g. stale keys, expired).
  void erase(std::string_view token);

 private:
  struct Bucket {
    std::array<std::uint32_t, kWays> tags{};  // 0: empty slot
    std::uint8_t referenced = 0;              // one bit per slot
    std::uint8_t hand = 0;
  };
  struct Slot {
    std::string token;
    Entry entry;
  };

  static std::uint64_t hash(std::string_view token);
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1u; }
  // Index of the slot holding `token` in `bucket`, or kWays.
  std::size_t locate(std::size_t bucket, std::uint32_t tag, std::string_view token) const;

  std::vector<Bucket> buckets_;
  std::vector<Slot> slots_;  // buckets_.size() * kWays
  std::size_t size_ = 0;
};

}  // namespace claimgate::auth
