#pragma once
// The proxy: N workers, each with its own io_context, SO_REUSEPORT acceptor and upstream pool.
#include <cstddef>
#include <functional>
#include <memory>

#include "metrics/metrics.h"
#include "proxy/runtime_config.h"

namespace claimgate::proxy {

struct DrainResult {
  std::size_t cut_off = 0;  // connections still open when the drain deadline passed
};

class Server {
 public:
  Server(RuntimeConfigPtr config, metrics::Registry& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listeners (throws std::system_error naming the address on failure) and starts
  // the worker threads.
  void start();

  // Stops accepting, closes idle keep-alive connections, lets in-flight requests finish and
  // tunnels run up to the configured drain timeout, then ends the tunnels and stops the workers.
  // Blocks; call from a non-worker thread.
  DrainResult drain();

  // Hot reload: new requests use `config`; requests in flight finish on the one they started with.
  // Listener address and thread count changes need a restart (the caller says so).
  void update_config(RuntimeConfigPtr config);
  RuntimeConfigPtr config() const;

  bool is_draining() const;
  std::size_t active_connections() const;
  unsigned worker_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace claimgate::proxy
