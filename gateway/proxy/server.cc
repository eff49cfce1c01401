#include "proxy/server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "core/log.h"
#include "proxy/worker.h"

namespace claimgate::proxy {

namespace net = boost::asio;

struct Server::Impl {
  Impl(RuntimeConfigPtr config, metrics::Registry& m) : shared(std::move(config)), metrics(m) {}

  SharedState shared;
  metrics::Registry& metrics;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
};

Server::Server(RuntimeConfigPtr config, metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(std::move(config), metrics)) {}

Server::~Server() {
  for (auto& w : impl_->workers) w->ioc().stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void Server::start() {
  const RuntimeConfigPtr config = impl_->shared.config();
  const Settings& s = config->settings;
  unsigned n = s.threads != 0 ? s.threads : std::max(1u, std::thread::hardware_concurrency());
  impl_->shared.worker_count = n;
  for (unsigned i = 0; i < n; ++i) {
    auto worker = std::make_unique<Worker>(impl_->shared, impl_->metrics.add_worker());
    for (std::size_t l = 0; l < s.listeners.size(); ++l)
      worker->listen(s.listeners[l], l < config->listener_tls.size() ? config->listener_tls[l] : nullptr);
    impl_->workers.push_back(std::move(worker));
  }
  for (auto& w : impl_->workers) {
    impl_->guards.push_back(net::make_work_guard(w->ioc()));
    w->start_accepting();
    impl_->threads.emplace_back([&ioc = w->ioc()] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          log::error("worker_exception", {{"error", e.what()}});
        }
      }
    });
  }
  for (const Listener& l : s.listeners)
    log::info("proxy_listening",
              {{"address", l.address.host}, {"port", l.address.port}, {"tls", l.tls.has_value()}, {"threads", n}});
}

DrainResult Server::drain() {
  impl_->shared.draining.store(true);
  for (auto& w : impl_->workers) net::post(w->ioc(), [&w = *w] { w.begin_drain(); });
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->shared.config()->settings.drain_timeout_ms);
  while (impl_->shared.live_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  DrainResult result{impl_->shared.live_connections.load()};
  // Each worker ends its remaining tunnels itself (counted and logged), then stops.
  for (auto& w : impl_->workers) {
    net::post(w->ioc(), [&w = *w] {
      w.end_drain();
      w.ioc().stop();
    });
  }
  impl_->guards.clear();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  return result;
}

void Server::update_config(RuntimeConfigPtr config) { impl_->shared.set_config(std::move(config)); }

RuntimeConfigPtr Server::config() const { return impl_->shared.config(); }

bool Server::is_draining() const { return impl_->shared.draining.load(); }

std::size_t Server::active_connections() const { return impl_->shared.live_connections.load(); }

unsigned Server::worker_count() const { return static_cast<unsigned>(impl_->workers.size()); }

}  // namespace claimgate::proxy
