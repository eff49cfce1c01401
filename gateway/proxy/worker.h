#pragma once
// One worker thread: its own io_context, SO_REUSEPORT acceptor, upstream pool and sessions, so
// the request path takes no locks.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <string>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>
#include <unordered_set>

#include "auth/authenticator.h"
#include "metrics/metrics.h"
#include "proxy/exchange.h"
#include "proxy/runtime_config.h"
#include "proxy/upstream_pool.h"
#include "tls/server_context.h"

namespace claimgate::proxy {

class Session;

struct SharedState {
  explicit SharedState(RuntimeConfigPtr c) : config_(std::move(c)) {}

  RuntimeConfigPtr config() const {
    std::lock_guard lock(mutex_);
    return config_;
  }
  void set_config(RuntimeConfigPtr c) {
    std::lock_guard lock(mutex_);
    config_ = std::move(c);
    generation.fetch_add(1, std::memory_order_release);
  }

  std::atomic<std::uint64_t> generation{0};
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> live_connections{0};
  unsigned worker_count = 1;

 private:
  mutable std::mutex mutex_;
  RuntimeConfigPtr config_;
};

class Worker {
 public:
  Worker(SharedState& shared, metrics::WorkerMetrics& metrics);

  // The current config snapshot, re-read only when a reload moved the generation.
  const RuntimeConfigPtr& config();
  metrics::WorkerMetrics& metrics() { return metrics_; }
  // Upstream connections of this worker, in use or pooled.
  std::atomic<std::size_t>& open_upstream_connections() { return metrics_.upstream_open; }

  // One more listener on this worker; `tls` is the TLS listener's current context (null: plain).
  void listen(const Listener& listener, std::shared_ptr<tls::ListenerTls> tls);  // throws std::system_error
  void start_accepting();
  void begin_drain();  // call on this worker's thread (post it)
  void end_drain();    // the drain deadline: ends what still runs that can end cleanly (tunnels)

  boost::asio::io_context& ioc() { return ioc_; }
  UpstreamPool& pool() { return pool_; }
  ExchangePool& exchanges() { return exchanges_; }
  // The identity's claim headers as "Name: value\r\n" lines, rendered once per identity: a
  // cached token's repeat requests reuse the text (the cache is emptied when the config changes).
  std::string_view identity_headers(const RuntimeConfig& config, const auth::IdentityPtr& identity);
  // This thread's verifier (key-set copies and token cache) for the config's authenticator.
  auth::TokenVerifier& verifier(const RuntimeConfig& config);
  SharedState& shared() { return shared_; }

  void add_session(Session* s) { sessions_.insert(s); }
  void remove_session(Session* s) { sessions_.erase(s); }

 private:
  struct Acceptor {
    explicit Acceptor(boost::asio::io_context& ioc) : acceptor(ioc), backoff(ioc) {}
    boost::asio::ip::tcp::acceptor acceptor;
    // Out of descriptors (EMFILE/ENFILE) or memory, accept fails at once for as long as the
    // backlog is not empty: wait a little before the next accept instead of spinning.
    boost::asio::steady_timer backoff;
    std::shared_ptr<tls::ListenerTls> tls;
  };
  void do_accept(Acceptor& a);
  void on_accept(Acceptor& a, const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void start_session(Acceptor& a, boost::asio::ip::tcp::socket socket);

  SharedState& shared_;
  metrics::WorkerMetrics& metrics_;
  RuntimeConfigPtr config_;
  std::uint64_t config_generation_ = ~std::uint64_t{0};
  // Declared before ioc_: destroying ioc_ destroys pending handlers, and with them sessions that
  // unregister themselves here.
  std::unordered_set<Session*> sessions_;
  ExchangePool exchanges_;  // sessions destroyed with ioc_ give their exchanges back here
  // One thread runs it and starts every socket operation on it (drain is posted), so the reactor
  // needs no per-descriptor locks; posting from other threads stays safe.
  boost::asio::io_context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  UpstreamPool pool_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  struct RenderedHeaders {
    auth::IdentityPtr identity;
    std::string lines;
  };
  std::array<RenderedHeaders, 64> rendered_headers_;
  const RuntimeConfig* rendered_for_ = nullptr;
};

}  // namespace claimgate::proxy
