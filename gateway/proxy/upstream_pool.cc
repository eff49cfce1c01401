#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "proxy/coarse_clock.h"

namespace claimgate::proxy {

namespace net = boost::asio;

namespace {
// True when the upstream has neither closed the connection nor sent anything unasked.
bool still_open(net::ip::tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

UpstreamPool::UpstreamPool(net::io_context& ioc, std::atomic<std::size_t>& idle_gauge)
    : ioc_(ioc), sweep_timer_(ioc), idle_gauge_(idle_gauge) {}

UpstreamPool::Slot& UpstreamPool::slot_of(const UpstreamSpec& upstream) {
  key_scratch_.assign(upstream.name).append("\n").append(upstream.url);
  auto it = slots_.find(std::string_view(key_scratch_));
  if (it == slots_.end()) it = slots_.try_emplace(key_scratch_).first;
  Slot& slot = it->second;
  slot.timeout = std::chrono::milliseconds(upstream.idle_timeout_ms);
  if (slot.sessions.context() != upstream.tls.get()) {
    for (auto& c : slot.idle) retire(std::move(c));
    slot.idle.clear();
    slot.sessions.bind(upstream.tls);
  }
  return slot;
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const UpstreamSpec& upstream, bool replayable) {
  Slot& slot = slot_of(upstream);
  Idle& idle = slot.idle;
  const auto oldest_allowed = coarse_now() - slot.timeout;
  while (!idle.empty()) {
    std::unique_ptr<UpstreamConnection> c = std::move(idle.back());
    idle.pop_back();
    if (c->idle_since < oldest_allowed) {
      retire(std::move(c));
      continue;
    }
    if (c->watched) {
      boost::system::error_code ignored;
      c->socket.cancel(ignored);  // ends the idle read; its handler finds nothing to evict
      c->watched = false;
    } else if (!replayable && !still_open(c->socket)) {
      continue;
    }
    c->reused = true;
    idle_gauge_.store(idle_count(), std::memory_order_relaxed);
    return c;
  }
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  return nullptr;
}

void UpstreamPool::give_back(const UpstreamSpec& upstream, std::unique_ptr<UpstreamConnection> connection) {
  if (closed_ || upstream.max_idle_connections == 0) return;
  Slot* slot = &slot_of(upstream);
  connection->idle_since = coarse_now();
  connection->idle_generation = ++next_generation_;
  Idle& idle = slot->idle;
  idle.push_back(std::move(connection));
  if (idle.size() > upstream.max_idle_connections) {
    retire(std::move(idle.front()));
    idle.erase(idle.begin());
  }
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  schedule_sweep();
}

void UpstreamPool::watch(Slot* slot, UpstreamConnection* connection) {
  connection->watched = true;
  const std::uint64_t generation = connection->idle_generation;
  // A read rather than async_wait: Asio re-arms the descriptor (epoll_ctl) for every wait.
  connection->async_read_some(net::buffer(&connection->idle_probe, 1),
                              [this, slot, connection, generation](const boost::system::error_code&, std::size_t) {
                                on_watch_done(slot, connection, generation);
                              });
}

// EOF, reset or unsolicited bytes evict an idle connection; a cancelled read was either taken
// (nothing left to do here) or retired (now it can go).
void UpstreamPool::on_watch_done(Slot* slot, UpstreamConnection* connection, std::uint64_t generation) {
  auto is_it = [&](const auto& c) { return c.get() == connection && c->idle_generation == generation; };
  Idle& idle = slot->idle;
  idle.erase(std::remove_if(idle.begin(), idle.end(), is_it), idle.end());
  retiring_.erase(std::remove_if(retiring_.begin(), retiring_.end(), is_it), retiring_.end());
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
}

// Closes a connection taken out of an idle list. A TLS connection whose watch is pending waits in
// retiring_ for the cancelled read to complete; any other goes at once.
void UpstreamPool::retire(std::unique_ptr<UpstreamConnection> connection) {
  if (!connection || !connection->watched || !connection->tls) return;
  boost::system::error_code ignored;
  connection->socket.cancel(ignored);
  retiring_.push_back(std::move(connection));
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
  const auto now = coarse_now();
  bool any_left = false;
  for (auto& [key, slot] : slots_) {
    for (auto& c : slot.idle) {
      if (now - c->idle_since > slot.timeout) retire(std::move(c));
    }
    slot.idle.erase(std::remove(slot.idle.begin(), slot.idle.end(), nullptr), slot.idle.end());
    for (auto& c : slot.idle) {
      if (!c->watched) watch(&slot, c.get());
    }
    any_left = any_left || !slot.idle.empty();
  }
  idle_gauge_.store(idle_count(), std::memory_order_relaxed);
  if (any_left) schedule_sweep();
}

void UpstreamPool::close_all() {
  closed_ = true;
  sweep_timer_.cancel();
  for (auto& [key, slot] : slots_) {
    for (auto& c : slot.idle) retire(std::move(c));
    slot.idle.clear();
  }
  idle_gauge_.store(0, std::memory_order_relaxed);
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, slot] : slots_) n += slot.idle.size();
  return n;
}

}  // namespace claimgate::proxy
