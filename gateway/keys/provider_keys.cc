#include "keys/provider_keys.h"

#include <algorithm>
#include <random>

#include "core/file_signature.h"
#include "core/log.h"
#include "jwks/file_loader.h"
#include "jwks/jwks.h"

namespace claimgate::keys {

namespace net = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
constexpr milliseconds kFilePollInterval{2000};
constexpr milliseconds kFirstRetry{1000};

milliseconds with_jitter(milliseconds base) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.8, 1.2);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * factor(rng)));
}
}  // namespace

bool same_key_source(const ProviderSpec& a, const ProviderSpec& b) {
  return a.name == b.name && a.source == b.source && a.jwks_url == b.jwks_url && a.jwks_file == b.jwks_file &&
         a.hmac_secret_file == b.hmac_secret_file && a.allow_insecure_http == b.allow_insecure_http &&
         a.ca_file == b.ca_file;
}

ProviderKeys::ProviderKeys(net::io_context& control, ProviderSpec spec, std::shared_ptr<const KeySnapshot> seed)
    : control_(control), spec_(std::move(spec)), timer_(control) {
  if (seed) {
    snapshot_ = std::move(seed);
    generation_.store(snapshot_->generation, std::memory_order_release);
    first_attempt_done_.store(true, std::memory_order_release);
    last_success_ = std::chrono::steady_clock::now();
    seeded_ = true;
  }
  if (spec_.source == KeySourceKind::JwksUrl && spec_.url.tls) {
    tls_.emplace(net::ssl::context::tls_client);
    tls_->set_options(net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (spec_.ca_file.empty()) {
      tls_->set_default_verify_paths(ec);
    } else {
      tls_->load_verify_file(spec_.ca_file, ec);
    }
    if (ec) log::error("tls_ca_load_failed", {{"provider", spec_.name}, {"error", ec.message()}});
  }
}

void ProviderKeys::start() {
  if (spec_.source == KeySourceKind::JwksUrl) {
    if (!spec_.url.tls && spec_.allow_insecure_http)
      log::warn("insecure_jwks_url", {{"provider", spec_.name}, {"url", spec_.jwks_url}});
    if (seeded_) return schedule(with_jitter(seconds(spec_.refresh_interval_s)), &ProviderKeys::do_fetch);
    return do_fetch();
  }
  poll_file();
}

void ProviderKeys::stop() {
  stopped_ = true;
  timer_.cancel();
}

std::string ProviderKeys::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

std::shared_ptr<const KeySnapshot> ProviderKeys::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

bool ProviderKeys::request_refresh(std::function<void()> on_done, milliseconds max_wait) {
  if (spec_.source != KeySourceKind::JwksUrl) return false;
  std::lock_guard lock(mutex_);
  if (!fetch_in_flight_ && !refetch_scheduled_) {
    const auto now = std::chrono::steady_clock::now();
    const auto next_allowed = last_fetch_started_ + seconds(spec_.min_refresh_interval_s);
    if (now < next_allowed) {
      const auto delay = std::chrono::duration_cast<milliseconds>(next_allowed - now);
      if (delay > max_wait) return false;
      refetch_scheduled_ = true;
      net::post(control_, [self = shared_from_this(), delay] { self->schedule(delay, &ProviderKeys::do_fetch); });
    } else {
      fetch_in_flight_ = true;  // claimed here so concurrent callers join this fetch
      net::post(control_, [self = shared_from_this()] {
        self->timer_.cancel();
        self->do_fetch();
      });
    }
  }
  waiters_.push_back(std::move(on_done));
  return true;
}

void ProviderKeys::do_fetch() {
  if (stopped_) return;
  {
    std::lock_guard lock(mutex_);
    fetch_in_flight_ = true;
    refetch_scheduled_ = false;
    last_fetch_started_ = std::chrono::steady_clock::now();
  }
  fetch_url(control_, tls_ ? &*tls_ : nullptr, spec_.url, milliseconds(spec_.fetch_timeout_ms),
            [self = shared_from_this()](Result<FetchResponse, std::string> r) { self->on_fetched(std::move(r)); });
}

void ProviderKeys::on_fetched(Result<FetchResponse, std::string> response) {
  if (!response) {
    record_failure(response.error());
  } else if (response->status != 200) {
    record_failure("HTTP status " + std::to_string(response->status));
  } else if (auto keys = jwks::parse_jwks(response->body, jwks::KeySource::Network); !keys) {
    record_failure(std::string("invalid JWKS: ") + std::string(jwks::to_string(keys.error())));
  } else if (keys->empty()) {
    record_failure("the JWKS holds no usable signing key");
  } else {
    next_max_age_s_ = response->max_age_s;
    install(std::move(*keys));
  }
  notify_waiters();
  first_attempt_done_.store(true, std::memory_order_release);

  milliseconds next;
  if (consecutive_failures_ == 0) {
    const std::int64_t interval = next_max_age_s_
                                      ? std::clamp(*next_max_age_s_, spec_.min_refresh_interval_s, spec_.max_refresh_interval_s)
                                      : spec_.refresh_interval_s;
    next = seconds(interval);
  } else {
    const auto backoff = kFirstRetry * (1LL << std::min(consecutive_failures_ - 1, 16));
    next = std::min<milliseconds>(backoff, seconds(spec_.refresh_interval_s));
  }
  schedule(with_jitter(next), &ProviderKeys::do_fetch);
}

void ProviderKeys::notify_waiters() {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mutex_);
    fetch_in_flight_ = false;
    waiters.swap(waiters_);
  }
  for (auto& w : waiters) w();
}

Result<jwt::KeySet, std::string> ProviderKeys::read_file() const {
  auto keys = spec_.source == KeySourceKind::JwksFile ? jwks::load_jwks_file(spec_.jwks_file)
                                                      : jwks::load_hmac_secret_file(spec_.hmac_secret_file);
  if (!keys) return fail(std::string(jwks::to_string(keys.error())));
  if (keys->empty()) return fail(std::string("the file holds no usable signing key"));
  return std::move(*keys);
}

void ProviderKeys::poll_file() {
  if (stopped_) return;
  const std::string& path = spec_.source == KeySourceKind::JwksFile ? spec_.jwks_file : spec_.hmac_secret_file;
  const std::string signature = file_signature(path);
  if (signature != file_signature_ || !first_attempt_done()) {
    file_signature_ = signature;
    if (auto keys = read_file()) {
      install(std::move(*keys));
    } else {
      record_failure(keys.error());
    }
    first_attempt_done_.store(true, std::memory_order_release);
  }
  schedule(kFilePollInterval, &ProviderKeys::poll_file);
}

void ProviderKeys::install(jwt::KeySet keys) {
  successes_.fetch_add(1, std::memory_order_relaxed);
  consecutive_failures_ = 0;
  last_success_ = std::chrono::steady_clock::now();
  const std::size_t count = keys.size();
  auto snapshot = std::make_shared<KeySnapshot>();
  snapshot->keys = std::move(keys);
  snapshot->loaded_at = std::chrono::system_clock::now();
  {
    std::lock_guard lock(mutex_);
    last_error_.clear();
    snapshot->generation = generation_.load(std::memory_order_relaxed) + 1;
    snapshot_ = std::move(snapshot);
    generation_.fetch_add(1, std::memory_order_release);
  }
  log::info("keys_loaded", {{"provider", spec_.name}, {"keys", count}});
}

void ProviderKeys::record_failure(const std::string& reason) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  ++consecutive_failures_;
  {
    std::lock_guard lock(mutex_);
    last_error_ = reason;
  }
  const bool have_keys = snapshot() != nullptr;
  log::warn("keys_fetch_failed", {{"provider", spec_.name},
                                  {"error", reason},
                                  {"consecutive_failures", consecutive_failures_},
                                  {"serving_last_good", have_keys}});
  if (have_keys && last_success_ &&
      std::chrono::steady_clock::now() - *last_success_ > seconds(spec_.max_stale_s)) {
    {
      std::lock_guard lock(mutex_);
      snapshot_.reset();
      generation_.fetch_add(1, std::memory_order_release);
    }
    log::error("keys_expired", {{"provider", spec_.name}, {"max_stale_s", spec_.max_stale_s}});
  }
}

void ProviderKeys::schedule(milliseconds delay, void (ProviderKeys::*next)()) {
  if (stopped_) return;
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this(), next](const boost::system::error_code& ec) {
    if (!ec) ((*self).*next)();
  });
}

}  // namespace claimgate::keys
