#pragma once
// The live key set of one provider: fetched (JWKS URL) or loaded (file) on the control context,
// published as an immutable snapshot that request threads read without waiting on I/O.
//
// - A failed, slow, empty or garbage fetch keeps the last good set for up to max_stale_s.
// - Refresh every refresh_interval_s, or Cache-Control max-age clamped to
//   [min_refresh_interval_s, max_refresh_interval_s]; failures back off exponentially with jitter.
// - An unknown kid may ask for one refetch, single flight, at most once per min_refresh_interval_s.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "jwt/key_set.h"
#include "keys/http_fetch.h"
#include "keys/provider_spec.h"

namespace claimgate::keys {

// True when two specs fetch the same keys the same way, so a reload can keep the keys.
bool same_key_source(const ProviderSpec& a, const ProviderSpec& b);

struct KeySnapshot {
  jwt::KeySet keys;
  std::uint64_t generation = 0;
  std::chrono::system_clock::time_point loaded_at;
};

class ProviderKeys : public std::enable_shared_from_this<ProviderKeys> {
 public:
  // `seed`: the keys of the provider this one replaces after a config reload with the same key
  // source; they serve at once, and the first refetch waits for the normal schedule.
  ProviderKeys(boost::asio::io_context& control, ProviderSpec spec, std::shared_ptr<const KeySnapshot> seed = nullptr);

  // Control context only.
  void start();
  void stop();

  // Any thread. Request threads keep a copy of snapshot() and refresh it when generation() moves.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::shared_ptr<const KeySnapshot> snapshot() const;
  bool first_attempt_done() const { return first_attempt_done_.load(std::memory_order_acquire); }
  const ProviderSpec& spec() const { return spec_; }

  // Any thread. Asks for a refetch after an unknown kid: joins the fetch in flight, or starts
  // one, or, when the last one started less than min_refresh_interval_s ago, schedules one for
  // when that interval ends if that is within `max_wait`. False when none of these is possible
  // (a file source, or the next allowed fetch is too far off); otherwise `on_done` runs on the
  // control context once that fetch ends, and is destroyed there.
  bool request_refresh(std::function<void()> on_done, std::chrono::milliseconds max_wait);

  // For metrics: fetch or load attempts by result.
  std::uint64_t successes() const { return successes_.load(std::memory_order_relaxed); }
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // Why the last fetch or load failed ("" after a success).
  std::string last_error() const;

 private:
  void do_fetch();
  void on_fetched(Result<FetchResponse, std::string> response);
  void poll_file();
  Result<jwt::KeySet, std::string> read_file() const;
  void install(jwt::KeySet keys);
  void record_failure(const std::string& reason);
  void schedule(std::chrono::milliseconds delay, void (ProviderKeys::*next)());
  void notify_waiters();

  boost::asio::io_context& control_;
  ProviderSpec spec_;
  std::optional<boost::asio::ssl::context> tls_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;

  mutable std::mutex mutex_;  // guards snapshot_, fetch state and waiters_
  std::shared_ptr<const KeySnapshot> snapshot_;
  bool fetch_in_flight_ = false;
  bool refetch_scheduled_ = false;
  std::chrono::steady_clock::time_point last_fetch_started_{};
  std::vector<std::function<void()>> waiters_;
  std::string last_error_;

  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> first_attempt_done_{false};
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
  bool seeded_ = false;
  int consecutive_failures_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_success_;
  std::optional<std::int64_t> next_max_age_s_;
  std::string file_signature_;  // mtime and size of the watched file
};

}  // namespace claimgate::keys
