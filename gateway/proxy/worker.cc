#include "proxy/worker.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <system_error>

#include "core/log.h"
#include "proxy/client_session.h"
#include "proxy/forwarding.h"

namespace claimgate::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Worker::Worker(SharedState& shared, metrics::WorkerMetrics& metrics)
    : shared_(shared), metrics_(metrics), acceptor_(ioc_), accept_backoff_(ioc_), pool_(ioc_, metrics.upstream_idle) {}

const RuntimeConfigPtr& Worker::config() {
  const std::uint64_t generation = shared_.generation.load(std::memory_order_acquire);
  if (generation != config_generation_) {
    config_ = shared_.config();
    config_generation_ = generation;
  }
  return config_;
}

void Worker::listen(const Endpoint& endpoint) {
  const tcp::endpoint ep(net::ip::make_address(endpoint.host), endpoint.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  // Every worker binds the same address; the kernel spreads new connections across them.
  acceptor_.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  boost::system::error_code ec;
  acceptor_.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind " + endpoint.host + ":" + std::to_string(endpoint.port));
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Worker::start_accepting() { do_accept(); }

void Worker::do_accept() {
  acceptor_.async_accept(ioc_, [this](const boost::system::error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Worker::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (!ec) {
    if (shared_.live_connections.load(std::memory_order_relaxed) >= config()->settings.max_connections) {
      log::warn("connection_refused", {{"reason", "max_connections"}});
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<ClientSession<tcp::socket>>(*this, std::move(socket))->run();
    }
  } else if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
             ec == net::error::no_buffer_space || ec == net::error::no_memory) {
    log::error("accept_failed", {{"error", ec.message()}});
    accept_backoff_.expires_after(std::chrono::milliseconds(100));
    accept_backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!wait_ec && acceptor_.is_open()) do_accept();
    });
    return;
  }
  do_accept();
}

auth::TokenVerifier& Worker::verifier(const RuntimeConfig& config) {
  if (!verifier_ || &verifier_->authenticator() != config.authenticator.get()) {
    const unsigned threads = std::max(1u, shared_.worker_count);
    verifier_ = std::make_unique<auth::TokenVerifier>(config.authenticator,
                                                      config.authenticator->settings().token_cache_entries / threads);
  }
  return *verifier_;
}

std::string_view Worker::identity_headers(const RuntimeConfig& config, const auth::IdentityPtr& identity) {
  if (!identity) return {};
  if (rendered_for_ != &config) {
    for (RenderedHeaders& r : rendered_headers_) r = {};
    rendered_for_ = &config;
  }
  const auto slot = (reinterpret_cast<std::uintptr_t>(identity.get()) >> 4) % rendered_headers_.size();
  RenderedHeaders& r = rendered_headers_[slot];
  if (r.identity != identity) {
    r.identity = identity;
    r.lines.clear();
    append_header_lines(config.authenticator->claim_headers().values_for(*identity), r.lines);
  }
  return r.lines;
}

void Worker::begin_drain() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_backoff_.cancel();
  pool_.close_all();
  // Copy: closing a session can destroy it, which removes it from sessions_.
  const std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
  for (Session* s : sessions) s->on_drain();
}

void Worker::end_drain() {
  const std::vector<Session*> sessions(sessions_.begin(), sessions_.end());
  for (Session* s : sessions) s->on_drain_deadline();
}

}  // namespace claimgate::proxy
