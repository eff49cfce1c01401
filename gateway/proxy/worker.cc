#include "proxy/worker.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>

#include <algorithm>
#include <system_error>

#include "core/log.h"
#include "proxy/client_session.h"
#include "proxy/client_stream.h"
#include "proxy/forwarding.h"

namespace claimgate::proxy {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Worker::Worker(SharedState& shared, metrics::WorkerMetrics& metrics)
    : shared_(shared), metrics_(metrics), pool_(ioc_, metrics.upstream_idle) {}

const RuntimeConfigPtr& Worker::config() {
  const std::uint64_t generation = shared_.generation.load(std::memory_order_acquire);
  if (generation != config_generation_) {
    config_ = shared_.config();
    config_generation_ = generation;
  }
  return config_;
}

void Worker::listen(const Listener& listener, std::shared_ptr<tls::ListenerTls> tls) {
  const Endpoint& endpoint = listener.address;
  auto a = std::make_unique<Acceptor>(ioc_);
  a->tls = std::move(tls);
  const tcp::endpoint ep(net::ip::make_address(endpoint.host), endpoint.port);
  a->acceptor.open(ep.protocol());
  a->acceptor.set_option(tcp::acceptor::reuse_address(true));
  // Every worker binds the same address; the kernel spreads new connections across them.
  a->acceptor.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
  boost::system::error_code ec;
  a->acceptor.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind " + endpoint.host + ":" + std::to_string(endpoint.port));
  a->acceptor.listen(net::socket_base::max_listen_connections);
  acceptors_.push_back(std::move(a));
}

void Worker::start_accepting() {
  for (auto& a : acceptors_) do_accept(*a);
}

void Worker::do_accept(Acceptor& a) {
  a.acceptor.async_accept(ioc_, [this, &a](const boost::system::error_code& ec, tcp::socket socket) {
    on_accept(a, ec, std::move(socket));
  });
}

void Worker::on_accept(Acceptor& a, const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !a.acceptor.is_open()) return;
  if (!ec) {
    if (shared_.live_connections.load(std::memory_order_relaxed) >= config()->settings.max_connections) {
      log::warn("connection_refused", {{"reason", "max_connections"}});
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      start_session(a, std::move(socket));
    }
  } else if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
             ec == net::error::no_buffer_space || ec == net::error::no_memory) {
    log::error("accept_failed", {{"error", ec.message()}});
    a.backoff.expires_after(std::chrono::milliseconds(100));
    a.backoff.async_wait([this, &a](const boost::system::error_code& wait_ec) {
      if (!wait_ec && a.acceptor.is_open()) do_accept(a);
    });
    return;
  }
  do_accept(a);
}

void Worker::start_session(Acceptor& a, tcp::socket socket) {
  if (!a.tls) return std::make_shared<ClientSession<tcp::socket>>(*this, std::move(socket))->run();
  // New connections get the listener's current certificates; the stream keeps its context.
  std::shared_ptr<const tls::ServerContext> context = a.tls->current();
  SSL_CTX_up_ref(context->native());  // net::ssl::context frees the handle it is given
  net::ssl::context asio_context(context->native());
  TlsStream stream(std::move(socket), asio_context, std::move(context));
  std::make_shared<ClientSession<TlsStream>>(*this, std::move(stream))->run();
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
  for (auto& a : acceptors_) {
    a->acceptor.close(ignored);
    a->backoff.cancel();
  }
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
