#include "proxy/upstream_pool.h"

#include <algorithm>

namespace claimgate::proxy {

namespace net = boost::asio;

UpstreamPool::UpstreamPool(net::io_context& ioc, std::atomic<std::size_t>& idle_gauge)
    : ioc_(ioc), sweep_timer_(ioc), idle_gauge_(idle_gauge) {}

std::string UpstreamPool::key_of(const UpstreamSpec& upstream) { return upstream.name + '\n' + upstream.url; }

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const UpstreamSpec& upstream) {
  auto it = idle_.find(key_of(upstream));
  if (it == idle_.end()) return nullptr;
  Idle& idle = it->second;
  const auto oldest_allowed = std::chrono::steady_clock::now() - std::chrono::milliseconds(upstream.idle_timeout_ms);
  while (!idle.empty()) {
    std::unique_ptr<UpstreamConnection> c = std::move(idle.back());
    idle.pop_back();
    if (c->idle_since < oldest_allowed) continue;  // expired: dropping it closes it
    boost::system::error_code ignored;
    c->stream.socket().cancel(ignored);  // ends the readiness wait; its handler finds nothing to evict
    c->reused = true;
    idle_gauge_.store(idle_count(), std::memory_order_relaxed);
    return c;
  }
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  return nullptr;
}

void UpstreamPool::give_back(const UpstreamSpec& upstream, std::unique_ptr<UpstreamConnection> connection) {
  if (closed_ || upstream.max_idle_connections == 0) return;
  const std::string key = key_of(upstream);
  connection->stream.expires_never();
  connection->idle_since = std::chrono::steady_clock::now();
  connection->idle_generation = ++next_generation_;
  UpstreamConnection* raw = connection.get();
  const std::uint64_t generation = raw->idle_generation;
  raw->stream.socket().async_wait(net::socket_base::wait_read,
                                  [this, key, raw, generation](const boost::system::error_code& ec) {
                                    if (!ec) evict(key, raw, generation);  // EOF or unsolicited bytes
                                  });
  Idle& idle = idle_[key];
  idle.push_back(std::move(connection));
  while (idle.size() > upstream.max_idle_connections) idle.pop_front();
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  idle_timeouts_[key] = std::chrono::milliseconds(upstream.idle_timeout_ms);
  schedule_sweep();
}

void UpstreamPool::evict(const std::string& key, UpstreamConnection* connection, std::uint64_t generation) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  Idle& idle = it->second;
  idle.erase(std::remove_if(idle.begin(), idle.end(),
                            [&](const auto& c) { return c.get() == connection && c->idle_generation == generation; }),
             idle.end());
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
}

void UpstreamPool::schedule_sweep() {
  if (sweep_scheduled_ || closed_) return;
  sweep_scheduled_ = true;
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    sweep_scheduled_ = false;
    if (!ec) sweep();
  });
}

void UpstreamPool::sweep() {
  const auto now = std::chrono::steady_clock::now();
  bool any_left = false;
  for (auto& [key, idle] : idle_) {
    const auto timeout = idle_timeouts_[key];
    idle.erase(std::remove_if(idle.begin(), idle.end(), [&](const auto& c) { return now - c->idle_since > timeout; }),
               idle.end());
    any_left = any_left || !idle.empty();
  }
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  if (any_left) schedule_sweep();
}

void UpstreamPool::close_all() {
  closed_ = true;
  sweep_timer_.cancel();
  idle_.clear();
  idle_gauge_.store(0, std::memory_order_relaxed);
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, idle] : idle_) n += idle.size();
  return n;
}

}  // namespace claimgate::proxy
