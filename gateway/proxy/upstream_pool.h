#pragma once
// Per-worker pool of idle keep-alive upstream connections, keyed by upstream name and URL.
// A connection comes back only after a complete response with nothing left unread. A connection
// reused within the sweep interval is not watched at all: the watch costs a system call per
// request (Asio reads speculatively, and a readiness wait re-arms the descriptor). The sweep puts
// a one-byte read on every connection still idle, so an upstream that closes it is noticed. A
// request that could not be replayed on a fresh connection (it has a body) gets only a connection
// that is watched or that a non-blocking peek just found open.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proxy/settings.h"

namespace claimgate::proxy {

struct UpstreamConnection {
  // `open` counts this worker's live upstream connections (for metrics).
  UpstreamConnection(boost::asio::io_context& ioc, std::atomic<std::size_t>& open) : socket(ioc), open_count(open) {
    open_count.fetch_add(1, std::memory_order_relaxed);
  }
  ~UpstreamConnection() { open_count.fetch_sub(1, std::memory_order_relaxed); }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // The byte stream, whatever carries it (the tunnel uses only these).
  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    socket.async_read_some(buffers, std::forward<Handler>(handler));
  }
  // Writes all of `buffers`, as boost::asio::async_write.
  template <class Buffers, class Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    boost::asio::async_write(socket, buffers, std::forward<Handler>(handler));
  }
  void shutdown_send(boost::system::error_code& ec) {
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  }

  boost::asio::ip::tcp::socket socket;
  std::chrono::steady_clock::time_point idle_since;
  std::uint64_t idle_generation = 0;
  bool reused = false;
  bool watched = false;  // a one-byte read into idle_probe is pending
  char idle_probe = 0;
  std::atomic<std::size_t>& open_count;
};

class UpstreamPool {
 public:
  // `idle_gauge` mirrors idle_count() for metrics.
  UpstreamPool(boost::asio::io_context& ioc, std::atomic<std::size_t>& idle_gauge);

  // An idle connection to `upstream`, or nullptr when none is fresh. `replayable`: the request
  // can be sent again on a new connection if this one turns out closed (no body).
  std::unique_ptr<UpstreamConnection> take(const UpstreamSpec& upstream, bool replayable);
  void give_back(const UpstreamSpec& upstream, std::unique_ptr<UpstreamConnection> connection);

  // Closes every idle connection and stops the expiry timer (drain).
  void close_all();

  std::size_t idle_count() const;

 private:
  using Idle = std::vector<std::unique_ptr<UpstreamConnection>>;  // oldest first
  struct Slot {
    Idle idle;
    std::chrono::milliseconds timeout{0};
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  Slot& slot_of(const UpstreamSpec& upstream);
  void watch(Slot* slot, UpstreamConnection* connection);
  void evict(Slot* slot, UpstreamConnection* connection, std::uint64_t generation);
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
  std::atomic<std::size_t>& idle_gauge_;
};

}  // namespace claimgate::proxy
