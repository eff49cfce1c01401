#pragma once
// Per-worker pool of idle keep-alive upstream connections, keyed by upstream name and URL.
// A connection comes back only after a complete response with nothing left unread. A connection
// reused within the sweep interval is not watched at all: the watch costs a system call per
// request (Asio reads speculatively, and a readiness wait re-arms the descriptor). The sweep puts
// a one-byte read on every connection still idle, so an upstream that closes it is noticed. A
// request that could not be replayed on a fresh connection (it has a body) gets only a connection
// that is watched or that a non-blocking peek just found open.
//
// For https:// upstreams each slot also keeps the worker's last TLS session with the upstream
// (resumption), for the slot's TLS context only: a config reload that brings a new context
// empties the slot, since its connections and session were verified under the old settings.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy/settings.h"
#include "proxy/upstream_connection.h"
#include "tls/session_cache.h"

namespace claimgate::proxy {

class UpstreamPool {
 public:
  // `idle_gauge` mirrors idle_count() for metrics.
  UpstreamPool(boost::asio::io_context& ioc, std::atomic<std::size_t>& idle_gauge);

  // An idle connection to `upstream`, or nullptr when none is fresh. `replayable`: the request
  // can be sent again on a new connection if this one turns out closed (no body).
  std::unique_ptr<UpstreamConnection> take(const UpstreamSpec& upstream, bool replayable);
  void give_back(const UpstreamSpec& upstream, std::unique_ptr<UpstreamConnection> connection);
  // The TLS session kept for `upstream` (https:// only), for UpstreamConnection::start_tls.
  tls::SessionCache& sessions(const UpstreamSpec& upstream) { return slot_of(upstream).sessions; }

  // Closes every idle connection and stops the expiry timer (drain).
  void close_all();

  std::size_t idle_count() const;

 private:
  using Idle = std::vector<std::unique_ptr<UpstreamConnection>>;  // oldest first
  struct Slot {
    tls::SessionCache sessions;  // bound to the TLS context of the slot's connections, which go first
    Idle idle;
    std::chrono::milliseconds timeout{0};
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Slot& slot_of(const UpstreamSpec& upstream);
  void watch(Slot* slot, UpstreamConnection* connection);
  void on_watch_done(Slot* slot, UpstreamConnection* connection, std::uint64_t generation);
  void retire(std::unique_ptr<UpstreamConnection> connection);
  void schedule_sweep();
  void sweep();

  boost::asio::io_context& ioc_;
  boost::asio::steady_timer sweep_timer_;
  bool sweep_scheduled_ = false;
  bool closed_ = false;
  std::uint64_t next_generation_ = 0;
  // Keyed by upstream name and URL; nodes never move, so a Slot* stays valid.
  std::unordered_map<std::string, Slot, StringHash, std::equal_to<>> slots_;
  std::string key_scratch_;
  // Closed TLS connections whose cancelled watch has not completed yet (see upstream_connection.h);
  // after slots_, so they go before the session caches their SSL objects point to.
  Idle retiring_;
  std::atomic<std::size_t>& idle_gauge_;
};

}  // namespace claimgate::proxy
