#include "proxy/client_session.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdio>
#include <random>
#include <span>

#include "core/log.h"
#include "plan/request_plan.h"
#include "proxy/client_stream.h"
#include "proxy/coarse_clock.h"
#include "proxy/forwarding.h"
#include "proxy/worker.h"
#include "tls/handshake_error.h"
#include "tls/upstream_context.h"

namespace claimgate::proxy {

namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

namespace {
constexpr std::size_t kMaxResponseHeaderBytes = 64 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

bool is_timeout(const boost::system::error_code& ec) { return ec == net::error::timed_out; }

// stream_truncated: a TLS upstream closed TCP without a close_notify.
bool is_connection_loss(const boost::system::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == bhttp::error::end_of_stream || ec == net::error::connection_aborted || ec == net::ssl::error::stream_truncated;
}

bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() && ec != bhttp::error::need_more &&
         ec != bhttp::error::end_of_stream;
}

// 128 random bits in hex.
std::size_t random_request_id(std::array<char, 32>& out) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = rng();
    for (int i = 15; i >= 0; --i, bits >>= 4) out[half * 16 + i] = kHex[bits & 15];
  }
  return out.size();
}

// The client's X-Request-Id when it is a sane token, else a random one.
std::size_t request_id_for(const http::RequestHead& head, std::array<char, 32>& out) {
  if (const std::string_view* v = head.find("X-Request-Id"); v && !v->empty() && v->size() <= out.size() && http::is_token(*v)) {
    std::copy(v->begin(), v->end(), out.begin());
    return v->size();
  }
  return random_request_id(out);
}

bool wants_keep_alive(const http::RequestHead& head) {
  bool close = false;
  bool keep = false;
  for (std::string_view o : head.connection_options) {
    close = close || http::iequals(o, "close");
    keep = keep || http::iequals(o, "keep-alive");
  }
  return head.version >= 11 ? !close : keep && !close;
}

// Runs `parser` over `in` as far as the bytes go; the body pieces land in the parser's list and
// `consumed` grows by the bytes used. Incomplete input is not an error.
template <bool isRequest>
boost::system::error_code parse_body(ViewParser<isRequest>& parser, std::string_view in, std::size_t& consumed) {
  while (!in.empty() && !parser.is_done()) {
    boost::system::error_code ec;
    // put() may use bytes and still say need_more (a body piece, then half a chunk header).
    const std::size_t used = parser.put(net::buffer(in.data(), in.size()), ec);
    in.remove_prefix(used);
    consumed += used;
    if (ec == bhttp::error::need_more) break;
    if (ec) return ec;
    if (used == 0) break;
  }
  return {};
}

// Body pieces of one round, framed for the receiving side, appended to `gather`.
void frame_pieces(const std::vector<std::string_view>& pieces, bool chunked, bool last, std::array<char, 24>& header,
                  std::vector<net::const_buffer>& gather, std::uint64_t& bytes) {
  std::size_t total = 0;
  for (std::string_view p : pieces) total += p.size();
  bytes += total;
  if (chunked && total > 0) {
    auto end = std::to_chars(header.data(), header.data() + header.size() - 2, total, 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    gather.emplace_back(header.data(), static_cast<std::size_t>(end - header.data()));
  }
  for (std::string_view p : pieces) gather.emplace_back(p.data(), p.size());
  if (chunked && total > 0) gather.emplace_back(kCrlf.data(), kCrlf.size());
  if (chunked && last) gather.emplace_back(kLastChunk.data(), kLastChunk.size());
}
}  // namespace

template <class Stream>
ClientSession<Stream>::ClientSession(Worker& worker, Stream stream)
    : worker_(worker), config_(worker.config()), stream_(std::move(stream)), timer_(worker.ioc()) {
  worker_.add_session(this);
  worker_.shared().live_connections.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  const auto remote = lowest_socket(stream_).remote_endpoint(ec);
  if (!ec) {
    const net::ip::address address = remote.address();
    client_ip_ = address.to_string();
    const auto v6 = address.is_v4() ? net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()) : address.to_v6();
    client_address_ = v6.to_bytes();
  }
  lowest_socket(stream_).set_option(tcp::no_delay(true), ec);
}

template <class Stream>
ClientSession<Stream>::~ClientSession() {
  if (x_) worker_.exchanges().give_back(std::move(x_));
  worker_.remove_session(this);
  worker_.shared().live_connections.fetch_sub(1, std::memory_order_relaxed);
}

// A new connection's request is usually on its way: read into the exchange at once. A keep-alive
// connection reads its next bytes into a small buffer of its own and takes an exchange only then.
template <class Stream>
void ClientSession<Stream>::run() {
  if constexpr (kIsTls<Stream>) {
    // The handshake counts against the head's deadline: a slow handshake is a slow head.
    set_deadline(milliseconds(config_->settings.request_header_timeout_ms));
    stream_.async_handshake(net::ssl::stream_base::server,
                            io([self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); }));
  } else {
    on_readable({});
  }
}

// ---- TLS ----------------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::on_handshake(error_code ec) {
  if constexpr (kIsTls<Stream>) {
    ec = timeout_or(ec);
    if (ec) {
      // A plaintext request to a TLS port ends here too: the connection closes, nothing is answered.
      const std::string_view reason = is_timeout(ec)                                  ? "timeout"
                                      : ec.category() == net::error::get_ssl_category() ? tls::client_handshake_failure(static_cast<unsigned long>(ec.value()))
                                                                                      : "closed";
      worker_.metrics().record_client_tls_handshake("failed", reason);
      log::debug("tls_handshake_failed", {{"client", client_ip_}, {"reason", reason}});
      return abort();
    }
    SSL* ssl = stream_.native_handle();
    worker_.metrics().record_client_tls_handshake(SSL_session_reused(ssl) ? "resumed" : "full", "");
    if (auto certificate = tls::verified_peer_certificate(ssl)) {
      peer_certificate_ = std::move(*certificate);
      forwarded_client_cert_ = tls::forwarded_client_cert(*peer_certificate_);
      certificate_facts_ = {peer_certificate_->subject, peer_certificate_->uris, peer_certificate_->dns};
    }
    on_readable({});
  }
}

template <class Stream>
void ClientSession<Stream>::on_drain() {
  if (waiting_for_request_) lowest_socket(stream_).cancel();
}

template <class Stream>
void ClientSession<Stream>::on_drain_deadline() {
  if (tunnel_ && !tunnel_->ended) end_tunnel(TunnelEnd::Drain);
}

// ---- deadlines ----------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::set_deadline(milliseconds from_now) { set_deadline_at(coarse_now() + from_now); }

template <class Stream>
void ClientSession<Stream>::set_deadline_at(clock::time_point deadline) {
  deadline_ = deadline;
  if (closed_ || (timer_waiting_ && timer_expiry_ <= deadline)) return;  // the timer fires first and looks again
  timer_expiry_ = deadline;
  timer_waiting_ = true;
  timer_.expires_at(deadline);
  timer_.async_wait(net::bind_allocator(HandlerAllocator<char, TimerMemory>(timer_memory_),
                                        [self = this->shared_from_this(), generation = ++timer_generation_](error_code ec) {
                                          self->on_timer(ec, generation);
                                        }));
}

template <class Stream>
void ClientSession<Stream>::on_timer(error_code ec, std::uint64_t generation) {
  if (generation != timer_generation_) return;  // superseded by an earlier deadline
  timer_waiting_ = false;
  if (ec || closed_) return;
  if (clock::now() < deadline_) return set_deadline_at(deadline_);
  if (tunnel_) return end_tunnel(clock::now() >= tunnel_->expires ? TunnelEnd::TokenExpired : TunnelEnd::IdleTimeout);
  // Whatever waits now (a read, a write, a connect) ends with operation_aborted, read as a timeout.
  timed_out_ = true;
  error_code ignored;
  lowest_socket(stream_).cancel(ignored);
  if (upstream_) upstream_->socket.cancel(ignored);
  if (resolver_) resolver_->cancel();
}

template <class Stream>
boost::system::error_code ClientSession<Stream>::timeout_or(error_code ec) {
  if (ec == net::error::operation_aborted && timed_out_) {
    timed_out_ = false;
    return net::error::timed_out;
  }
  return ec;
}

// ---- request head -------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::do_read_head() {
  const Settings& s = config_->settings;
  if (x_) {
    InputBuffer& in = x_->client_in;
    // RFC 9112 section 2.2: ignore empty lines before a request line.
    while (in.size() > 0 && (in.at(in.begin) == '\r' || in.at(in.begin) == '\n')) in.consume(1);
    if (in.size() > 0) {
      if (const auto end = http::find_head_end(in.bytes())) {
        if (*end <= s.max_request_header_bytes) return on_head(*end);
        begin_request();
        return send_local_reply(http::reply_header_too_large());
      }
      if (in.size() >= s.max_request_header_bytes) {
        begin_request();
        return send_local_reply(http::reply_header_too_large());
      }
      // Part of a head is here: read the rest within the head's deadline.
      set_deadline_at(head_deadline_);
      in.compact();
      const std::size_t room = std::min(in.capacity - in.end, s.max_request_header_bytes + 4 - in.size());
      return stream_.async_read_some(net::buffer(in.data.get() + in.end, room),
                                     io([self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_read_head(ec, n); }));
    }
    release_exchange();  // idle: hold no buffer
  }
  if (worker_.shared().draining.load(std::memory_order_relaxed)) return close_gracefully();
  waiting_for_request_ = true;
  set_deadline(milliseconds(s.idle_timeout_ms));
  // A read, not a readiness wait: Asio re-arms the descriptor (epoll_ctl) for every wait, while a
  // read finds the bytes at once or waits on the registration it already has.
  stream_.async_read_some(net::buffer(idle_bytes_), io([self = this->shared_from_this()](error_code ec, std::size_t n) {
                            self->on_idle_read(ec, n);
                          }));
}

template <class Stream>
void ClientSession<Stream>::on_readable(error_code ec) {
  waiting_for_request_ = false;
  if (ec) return abort();  // idle timeout or drain: close quietly
  if (worker_.shared().draining.load(std::memory_order_relaxed)) return close_gracefully();
  head_deadline_ = coarse_now() + milliseconds(config_->settings.request_header_timeout_ms);
  set_deadline_at(head_deadline_);
  x_ = worker_.exchanges().take(config_->settings.max_request_header_bytes + 4);
  InputBuffer& in = x_->client_in;
  const std::size_t room = std::min(in.capacity, config_->settings.max_request_header_bytes + 4);
  stream_.async_read_some(net::buffer(in.data.get(), room),
                          io([self = this->shared_from_this()](error_code e, std::size_t n) { self->on_read_head(e, n); }));
}

template <class Stream>
void ClientSession<Stream>::on_idle_read(error_code ec, std::size_t bytes) {
  waiting_for_request_ = false;
  if (ec) return abort();  // idle timeout, client gone or drain: close quietly
  head_deadline_ = coarse_now() + milliseconds(config_->settings.request_header_timeout_ms);
  set_deadline_at(head_deadline_);
  x_ = worker_.exchanges().take(config_->settings.max_request_header_bytes + 4);
  std::memcpy(x_->client_in.data.get(), idle_bytes_.data(), bytes);
  x_->client_in.begin = 0;
  x_->client_in.end = bytes;
  do_read_head();
}

template <class Stream>
void ClientSession<Stream>::on_read_head(error_code ec, std::size_t bytes) {
  if (ec) return abort();  // header timeout or client gone: close quietly
  x_->client_in.end += bytes;
  do_read_head();
}

template <class Stream>
void ClientSession<Stream>::on_head(std::size_t head_bytes) {
  begin_request();
  const Settings& s = config_->settings;
  Exchange& x = *x_;
  const std::string_view head_text = x.client_in.bytes().substr(0, head_bytes);
  if (auto ok = http::inspect_request_head(head_text, x.head, s.max_request_headers); !ok) {
    log::debug("request_rejected", {{"reason", http::to_string(ok.error())}, {"client", client_ip_}});
    x.client_in.consume(head_bytes);
    return send_local_reply(http::reply_for(ok.error()));
  }
  x.request_id_size = request_id_for(x.head, x.request_id);
  keep_alive_ = wants_keep_alive(x.head) && !worker_.shared().draining.load(std::memory_order_relaxed);
  if (x.head.chunked) {
    // Beast's parser checks the chunked framing; it reads the head once to know where the body starts.
    x.request_body.emplace();
    x.request_body->header_limit(static_cast<std::uint32_t>(head_bytes + 1));
    if (s.max_request_body_bytes == 0) {
      x.request_body->body_limit(boost::none);
    } else {
      x.request_body->body_limit(s.max_request_body_bytes);
    }
    x.request_body->pieces = &x.pieces;
    error_code ec;
    const std::size_t used = x.request_body->put(net::buffer(head_text.data(), head_text.size()), ec);
    if (ec || used != head_bytes || !x.request_body->is_header_done()) {
      x.client_in.consume(head_bytes);
      return send_local_reply(http::reply_malformed_request(ec ? ec.message() : "incomplete header"));
    }
    x.request_body->eager(true);
    x.request_body_done = false;
  } else if (x.head.content_length && *x.head.content_length > 0) {
    x.request_body_left = *x.head.content_length;
    x.request_body_done = false;
  }
  // The head's views stay valid until the next read into client_in, which comes only after the
  // upstream head was built from them.
  x.client_in.consume(head_bytes);
  run_plan(true);
}

template <class Stream>
void ClientSession<Stream>::run_plan(bool may_wait, bool may_verify_later) {
  Exchange& x = *x_;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const policy::ClientCertificate* certificate = peer_certificate_ ? &certificate_facts_ : nullptr;
  const std::string_view thumbprint = peer_certificate_ ? std::string_view(peer_certificate_->thumbprint) : std::string_view();
  plan::plan_request({*config_, x.head, client_address_, now, may_wait, may_verify_later, certificate, thumbprint},
                     worker_.verifier(*config_), x.plan);
  switch (x.plan.action) {
    case plan::RequestPlan::Action::Reply:
      return send_local_reply(x.plan.reply);
    case plan::RequestPlan::Action::WaitForKeys:
      return wait_for_keys(x.plan.auth.provider);
    case plan::RequestPlan::Action::VerifyLater:
      // Signature checks are batched: requests read in the same wake-up are decided once all of
      // them are read, and their upstream writes wait until all are decided, so the checks run
      // back to back with the crypto code and tables still in the caches instead of each one
      // after a system call (3 µs less per fresh EdDSA token in bench/datapath_bench.py).
      return net::post(stream_.get_executor(), [self = this->shared_from_this(), may_wait] {
        if (!self->closed_) self->run_plan(may_wait, false);
      });
    case plan::RequestPlan::Action::Forward:
      break;
  }
  upstream_spec_ = x.plan.upstream;
  prepare_upstream_request();
  attempt_ = 0;
  if (may_verify_later) return acquire_upstream(true);
  net::post(stream_.get_executor(), [self = this->shared_from_this()] {
    if (!self->closed_) self->acquire_upstream(true);
  });
}

// An unknown kid: one refetch (shared with other waiting requests), waited on for a bounded time.
template <class Stream>
void ClientSession<Stream>::wait_for_keys(std::size_t provider) {
  const auth::Authenticator& authenticator = *config_->authenticator;
  const std::uint64_t wait = ++key_wait_id_;
  const milliseconds max_wait(authenticator.provider(provider).spec().unknown_kid_wait_ms);
  if (!key_wait_timer_) key_wait_timer_.emplace(worker_.ioc());
  // The key source runs its waiters on the control thread and drops them there: a strong reference
  // held by a waiter could end this session (and unregister it from its worker) on that thread.
  const bool accepted = authenticator.provider(provider).request_refresh(
      [executor = stream_.get_executor(), weak = std::weak_ptr<ClientSession>(this->shared_from_this()), wait] {
        net::post(executor, [weak, wait] {
          if (auto self = weak.lock()) self->end_key_wait(wait);
        });
      },
      max_wait);
  if (!accepted) return run_plan(false);
  set_deadline(max_wait + milliseconds(config_->settings.idle_timeout_ms));
  key_wait_timer_->expires_after(max_wait);
  key_wait_timer_->async_wait([self = this->shared_from_this(), wait](error_code ec) {
    if (!ec) self->end_key_wait(wait);
  });
}

// The refetch ended or the wait timed out, whichever came first; the later one finds a newer id.
template <class Stream>
void ClientSession<Stream>::end_key_wait(std::uint64_t wait) {
  if (closed_ || key_wait_id_ != wait) return;
  ++key_wait_id_;
  key_wait_timer_->cancel();
  run_plan(false);
}

template <class Stream>
void ClientSession<Stream>::prepare_upstream_request() {
  Exchange& x = *x_;
  const auth::Authenticator& authenticator = *config_->authenticator;
  const ForwardingContext context{client_ip_,
                                  client_is_trusted_,
                                  x.head,
                                  *upstream_spec_,
                                  x.plan.upstream_target,
                                  &authenticator.claim_headers(),
                                  x.plan.strip_headers,
                                  x.plan.strip_cookies,
                                  worker_.identity_headers(*config_, x.plan.auth.identity),
                                  x.request_id_view(),
                                  kIsTls<Stream>,
                                  forwarded_client_cert_,
                                  x.plan.strip_protocol_token,
                                  x.plan.upgrade};
  x.out_head.clear();
  write_upstream_request_head(context, x.out_head);
}

// ---- upstream connection ------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::acquire_upstream(bool allow_pooled) {
  ++attempt_;
  x_->request_body_started = false;
  x_->response_started = false;
  request_head_sent_ = false;
  if (allow_pooled) upstream_ = worker_.pool().take(*upstream_spec_, /*replayable=*/x_->request_body_done);
  if (upstream_) return start_request_relay();

  upstream_ = std::make_unique<UpstreamConnection>(worker_.ioc(), worker_.open_upstream_connections());
  boost::system::error_code ec;
  const auto address = net::ip::make_address(upstream_spec_->host, ec);
  set_deadline(milliseconds(upstream_spec_->connect_timeout_ms));
  if (!ec) {
    upstream_->socket.async_connect(tcp::endpoint(address, upstream_spec_->port),
                                    [self = this->shared_from_this()](error_code e) { self->on_connected(e); });
    return;
  }
  resolver_.emplace(worker_.ioc());
  resolver_->async_resolve(upstream_spec_->host, std::to_string(upstream_spec_->port),
                           [self = this->shared_from_this()](error_code e, tcp::resolver::results_type results) {
                             self->on_resolved(e, std::move(results));
                           });
}

template <class Stream>
void ClientSession<Stream>::on_resolved(error_code ec, tcp::resolver::results_type results) {
  ec = timeout_or(ec);
  if (ec) {
    worker_.metrics().record_connect_error(upstream_spec_->name);
    log::warn("upstream_resolve_failed", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    upstream_.reset();
    return send_local_reply(http::reply_for(is_timeout(ec) ? http::UpstreamError::Timeout : http::UpstreamError::Unavailable));
  }
  net::async_connect(upstream_->socket, results, [self = this->shared_from_this()](error_code e, const tcp::endpoint&) {
    self->on_connected(e);
  });
}

template <class Stream>
void ClientSession<Stream>::on_connected(error_code ec) {
  ec = timeout_or(ec);
  if (ec) {
    worker_.metrics().record_connect_error(upstream_spec_->name);
    log::warn("upstream_connect_failed", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    upstream_.reset();
    const auto kind = is_timeout(ec) ? http::UpstreamError::Timeout
                      : ec == net::error::connection_refused ? http::UpstreamError::Refused
                                                             : http::UpstreamError::Unavailable;
    return send_local_reply(http::reply_for(kind));
  }
  error_code ignored;
  upstream_->socket.set_option(tcp::no_delay(true), ignored);
  if (upstream_spec_->tls) return start_upstream_tls();
  start_request_relay();
}

// The handshake runs within what is left of the connect deadline.
template <class Stream>
void ClientSession<Stream>::start_upstream_tls() {
  const UpstreamSpec& u = *upstream_spec_;
  if (!upstream_->start_tls(*u.tls, worker_.pool().sessions(u))) {
    log::error("upstream_tls_failed", {{"upstream", u.name}, {"error", "cannot create an SSL object"}});
    upstream_.reset();
    return send_local_reply(http::reply_for(http::UpstreamError::TlsFailed));
  }
  upstream_->tls->async_handshake(net::ssl::stream_base::client,
                                  [self = this->shared_from_this()](error_code ec) { self->on_upstream_handshake(ec); });
}

template <class Stream>
void ClientSession<Stream>::on_upstream_handshake(error_code ec) {
  ec = timeout_or(ec);
  if (ec) {
    note_tls_failure(ec);
    upstream_.reset();
    return send_local_reply(http::reply_for(is_timeout(ec) ? http::UpstreamError::Timeout : http::UpstreamError::TlsFailed));
  }
  worker_.metrics().record_tls_handshake(upstream_spec_->name, SSL_session_reused(upstream_->tls->native_handle()) == 1);
  start_request_relay();
}

// A failed handshake, or a TLS error after it (a TLS 1.3 upstream refuses a client certificate
// only once our side of the handshake is done, so its alert meets our first read): the reason
// goes to the log and the metrics, and the session kept for resumption is dropped.
template <class Stream>
void ClientSession<Stream>::note_tls_failure(error_code ec) {
  const long verify_result = SSL_get_verify_result(upstream_->tls->native_handle());
  const tls::HandshakeError reason =
      is_timeout(ec)           ? tls::HandshakeError::Timeout
      : is_connection_loss(ec) ? tls::HandshakeError::ConnectionClosed
                               : tls::classify_failure(verify_result, ec.category() == net::error::get_ssl_category()
                                                                          ? static_cast<unsigned long>(ec.value())
                                                                          : 0);
  const std::string detail = verify_result != X509_V_OK ? std::string(tls::verify_error_string(verify_result)) : ec.message();
  worker_.pool().sessions(*upstream_spec_).forget();
  worker_.metrics().record_tls_failure(upstream_spec_->name, tls::to_string(reason));
  log::warn("upstream_tls_failed",
            {{"upstream", upstream_spec_->name}, {"reason", tls::to_string(reason)}, {"error", detail}});
}

// ---- request relay ------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::start_request_relay() {
  x_->upstream_start = clock::now();
  if (x_->head.expect_continue && !x_->request_body_done && x_->client_in.size() == 0) {
    set_deadline(milliseconds(config_->settings.idle_timeout_ms));
    return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
                              if (ec) return self->abort();
                              self->read_request_body();
                            });
  }
  send_request_part();
}

// The head goes out together with the body bytes already read (gathered into one write); each
// later write carries what one read brought.
template <class Stream>
void ClientSession<Stream>::send_request_part() {
  Exchange& x = *x_;
  x.gather.clear();
  x.pieces.clear();
  if (!request_head_sent_) x.gather.emplace_back(x.out_head.data(), x.out_head.size());
  std::size_t consumed = 0;
  if (!x.request_body_done && x.client_in.size() > 0) {
    x.request_body_started = true;
    if (x.request_body) {
      ViewParser<true>& parser = *x.request_body;
      if (const error_code ec = parse_body(parser, x.client_in.bytes(), consumed)) {
        upstream_.reset();  // half a request went upstream: that connection can never be reused
        keep_alive_ = false;
        if (ec == bhttp::error::body_limit) return send_local_reply(http::reply_body_too_large());
        return send_local_reply(http::reply_malformed_request(ec.message()));
      }
      x.request_body_done = parser.is_done();
      frame_pieces(x.pieces, true, x.request_body_done, x.chunk_header, x.gather, x.bytes_in);
    } else {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(x.request_body_left, x.client_in.size()));
      x.pieces.emplace_back(x.client_in.data.get() + x.client_in.begin, n);
      consumed = n;
      x.request_body_left -= n;
      x.request_body_done = x.request_body_left == 0;
      frame_pieces(x.pieces, false, false, x.chunk_header, x.gather, x.bytes_in);
    }
  }
  if (x.gather.empty()) return read_request_body();
  set_deadline(milliseconds(upstream_spec_->response_timeout_ms));
  upstream_->async_write(std::span<const net::const_buffer>(x.gather),
                         io([self = this->shared_from_this(), consumed](error_code ec, std::size_t) {
                           self->on_request_part_written(ec, consumed);
                         }));
}

template <class Stream>
void ClientSession<Stream>::on_request_part_written(error_code ec, std::size_t consumed) {
  ec = timeout_or(ec);
  if (ec) return upstream_failed(ec, false);
  request_head_sent_ = true;
  x_->client_in.consume(consumed);
  if (x_->request_body_done) return read_response();
  if (x_->client_in.size() > 0 && consumed > 0) return send_request_part();
  read_request_body();
}

template <class Stream>
void ClientSession<Stream>::read_request_body() {
  InputBuffer& in = x_->client_in;
  in.compact();
  set_deadline(milliseconds(config_->settings.idle_timeout_ms));
  stream_.async_read_some(in.free_space(), io([self = this->shared_from_this()](error_code ec, std::size_t n) {
                            self->on_request_body_read(ec, n);
                          }));
}

template <class Stream>
void ClientSession<Stream>::on_request_body_read(error_code ec, std::size_t bytes) {
  if (ec) {
    upstream_.reset();  // half a request went upstream: that connection can never be reused
    return abort();
  }
  x_->client_in.end += bytes;
  send_request_part();
}

// ---- response relay -----------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::start_response_parser() {
  Exchange& x = *x_;
  x.response.emplace();
  x.response->header_limit(kMaxResponseHeaderBytes);
  x.response->body_limit(boost::none);
  if (x.head.method == "HEAD") x.response->skip(true);
  x.response_fields.clear();
  x.response->fields = &x.response_fields;
  x.response->pieces = &x.pieces;
}

template <class Stream>
void ClientSession<Stream>::read_response() {
  Exchange& x = *x_;
  if (!x.response) start_response_parser();
  InputBuffer& in = x.upstream_in;
  in.compact();
  if (in.end == in.capacity) {
    return upstream_failed(bhttp::error::header_limit, true);  // a response head over 64 KiB
  }
  set_deadline(milliseconds(upstream_spec_->response_timeout_ms));
  upstream_->async_read_some(in.free_space(), io([self = this->shared_from_this()](error_code ec, std::size_t n) {
                               self->on_response_read(ec, n);
                             }));
}

template <class Stream>
void ClientSession<Stream>::on_response_read(error_code ec, std::size_t bytes) {
  ec = timeout_or(ec);
  Exchange& x = *x_;
  ViewParser<false>& parser = *x.response;
  // A close-delimited body ends here; over TLS also without a close_notify, which many servers skip.
  if (ec && (ec == net::error::eof || ec == net::ssl::error::stream_truncated) && parser.is_header_done() &&
      parser.need_eof()) {
    error_code eof_ec;
    parser.put_eof(eof_ec);
    if (!eof_ec) return send_response_part();
  }
  if (ec) {
    if (!x.response_started) return upstream_failed(ec, x.upstream_in.size() > 0);
    // The client already has the status line: all that is left is to cut its connection.
    log::warn("upstream_response_cut", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    return abort();
  }
  x.upstream_in.end += bytes;
  if (!parser.is_header_done()) return parse_response_head();
  send_response_part();
}

template <class Stream>
void ClientSession<Stream>::parse_response_head() {
  Exchange& x = *x_;
  while (true) {
    ViewParser<false>& parser = *x.response;
    x.response_fields.clear();
    error_code ec;
    const std::string_view bytes = x.upstream_in.bytes();
    const std::size_t used = parser.put(net::buffer(bytes.data(), bytes.size()), ec);
    if (ec == bhttp::error::need_more) return read_response();
    if (ec) return upstream_failed(ec, true);
    const unsigned status = parser.status;
    if (status == 101) {
      // Only the answer to a handshake the gateway forwarded, and only to the protocol it asked for.
      const bool websocket = std::any_of(x.response_fields.begin(), x.response_fields.end(), [](const http::Field& f) {
        return http::iequals(f.first, "upgrade") && http::lists_websocket(f.second);
      });
      if (!x.plan.upgrade || !websocket) return upstream_failed(bhttp::error::bad_status, true);
      return start_tunnel(used);
    }
    if (status >= 100 && status < 200) {
      // Interim responses are not relayed.
      x.upstream_in.consume(used);
      start_response_parser();
      if (x.upstream_in.size() == 0) return read_response();
      continue;
    }
    x.upstream_duration_s = std::chrono::duration<double>(clock::now() - x.upstream_start).count();
    x.response_status = status;
    ResponseFraming framing = ResponseFraming::ContentLength;
    const bool bodiless = x.head.method == "HEAD" || status == 204 || status == 304;
    if (bodiless) {
      framing = ResponseFraming::Bodiless;
    } else if (!parser.content_length()) {
      // Chunked or close-delimited from the upstream: chunked to an HTTP/1.1 client, close-delimited otherwise.
      if (x.head.version >= 11) {
        framing = ResponseFraming::Chunked;
      } else {
        framing = ResponseFraming::Close;
        keep_alive_ = false;
      }
    }
    if (worker_.shared().draining.load(std::memory_order_relaxed)) keep_alive_ = false;
    x.out_head.clear();
    write_client_response_head({status, parser.reason, x.response_fields, framing, keep_alive_, x.head.version}, x.out_head);
    x.response_started = true;
    x.response_head_written = false;
    x.response_chunked = framing == ResponseFraming::Chunked;
    x.upstream_in.consume(used);
    parser.eager(true);
    return send_response_part();
  }
}

template <class Stream>
void ClientSession<Stream>::send_response_part() {
  Exchange& x = *x_;
  ViewParser<false>& parser = *x.response;
  x.gather.clear();
  x.pieces.clear();
  if (!x.response_head_written) x.gather.emplace_back(x.out_head.data(), x.out_head.size());
  std::size_t consumed = 0;
  if (const error_code ec = parse_body(parser, x.upstream_in.bytes(), consumed)) {
    log::warn("upstream_response_cut", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    return abort();
  }
  frame_pieces(x.pieces, x.response_chunked, parser.is_done(), x.chunk_header, x.gather, x.bytes_out);
  if (x.gather.empty()) {
    x.upstream_in.consume(consumed);
    if (parser.is_done()) return finish_exchange();
    return read_response();
  }
  set_deadline(milliseconds(config_->settings.idle_timeout_ms));
  net::async_write(stream_, std::span<const net::const_buffer>(x.gather),
                   io([self = this->shared_from_this(), consumed](error_code ec, std::size_t) {
                     self->on_response_part_written(ec, consumed);
                   }));
}

template <class Stream>
void ClientSession<Stream>::on_response_part_written(error_code ec, std::size_t consumed) {
  if (ec) return abort();
  Exchange& x = *x_;
  x.response_head_written = true;
  x.upstream_in.consume(consumed);
  if (x.response->is_done()) return finish_exchange();
  if (x.upstream_in.size() > 0 && consumed > 0) return send_response_part();
  read_response();
}

template <class Stream>
void ClientSession<Stream>::finish_exchange() {
  Exchange& x = *x_;
  complete_request(x.response_status);
  // An upstream that declined an upgrade may not expect another request on that connection.
  const bool upstream_reusable = x.response->is_done() && x.response->keep_alive() && x.upstream_in.size() == 0 &&
                                 x.request_body_done && request_head_sent_ && !x.plan.upgrade;
  if (upstream_reusable) worker_.pool().give_back(*upstream_spec_, std::move(upstream_));
  upstream_.reset();
  x.response.reset();
  x.request_body.reset();
  if (!keep_alive_) return close_gracefully();
  head_deadline_ = coarse_now() + milliseconds(config_->settings.request_header_timeout_ms);
  do_read_head();
}

// ---- tunnel -------------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::start_tunnel(std::size_t response_head_bytes) {
  Exchange& x = *x_;
  x.upstream_duration_s = std::chrono::duration<double>(clock::now() - x.upstream_start).count();
  x.response_status = 101;
  x.out_head.clear();
  write_client_response_head(
      {101, x.response->reason, x.response_fields, ResponseFraming::Upgrade, false, x.head.version}, x.out_head);
  x.upstream_in.consume(response_head_bytes);
  x.response_head_written = false;
  x.response.reset();
  complete_request(101);  // the handshake's log line and metrics
  keep_alive_ = false;

  const policy::WebSocketSettings& settings = x.plan.route.route->websocket;
  tunnel_ = std::make_unique<Tunnel>(worker_.metrics().tunnels_open);
  tunnel_->opened = clock::now();
  tunnel_->idle_timeout = milliseconds(settings.idle_timeout_ms);
  const auth::Identity* identity = x.plan.auth.identity.get();
  if (settings.close_at_token_expiry && identity && identity->token.expires_at) {
    // When the gateway would stop accepting the token: exp plus the provider's leeway.
    const std::int64_t leeway_s = config_->authenticator->provider(identity->provider).spec().verify.leeway_s;
    const std::chrono::system_clock::time_point expiry{std::chrono::seconds(*identity->token.expires_at + leeway_s)};
    tunnel_->expires =
        tunnel_->opened + std::chrono::duration_cast<clock::duration>(expiry - std::chrono::system_clock::now());
  }
  extend_tunnel_deadline();
  // Bytes already read past either head go first: the upstream's after the 101 head, the client's now.
  tunnel_write_client();
  if (x.client_in.size() > 0) return tunnel_write_upstream();
  tunnel_read_client();
}

template <class Stream>
void ClientSession<Stream>::extend_tunnel_deadline() {
  set_deadline_at(std::min(coarse_now() + tunnel_->idle_timeout, tunnel_->expires));
}

template <class Stream>
void ClientSession<Stream>::tunnel_read_client() {
  InputBuffer& in = x_->client_in;
  in.compact();
  stream_.async_read_some(in.free_space(), io([self = this->shared_from_this()](error_code ec, std::size_t n) {
                            self->on_tunnel_client_read(ec, n);
                          }));
}

template <class Stream>
void ClientSession<Stream>::on_tunnel_client_read(error_code ec, std::size_t bytes) {
  Tunnel& t = *tunnel_;
  if (t.ended) return;
  if (ec) {
    if (!is_end_of_stream(ec)) return end_tunnel(TunnelEnd::ClientError);
    t.client_done = true;
    error_code ignored;
    upstream_->shutdown_send(ignored);
    if (t.upstream_done) end_tunnel(TunnelEnd::Closed);
    return;
  }
  x_->client_in.end += bytes;
  tunnel_write_upstream();
}

template <class Stream>
void ClientSession<Stream>::tunnel_write_upstream() {
  extend_tunnel_deadline();
  const std::string_view bytes = x_->client_in.bytes();
  upstream_->async_write(
      net::buffer(bytes.data(), bytes.size()),
      io([self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_tunnel_upstream_written(ec, n); }));
}

template <class Stream>
void ClientSession<Stream>::on_tunnel_upstream_written(error_code ec, std::size_t bytes) {
  Tunnel& t = *tunnel_;
  if (t.ended) return;
  if (ec) return end_tunnel(TunnelEnd::UpstreamError);
  t.bytes_to_upstream += bytes;
  worker_.metrics().tunnel_bytes_to_upstream.fetch_add(bytes, std::memory_order_relaxed);
  x_->client_in.consume(bytes);
  extend_tunnel_deadline();
  tunnel_read_client();
}

template <class Stream>
void ClientSession<Stream>::tunnel_read_upstream() {
  InputBuffer& in = x_->upstream_in;
  in.compact();
  upstream_->async_read_some(
      in.free_space(), in_memory(tunnel_->memory, [self = this->shared_from_this()](error_code ec, std::size_t n) {
        self->on_tunnel_upstream_read(ec, n);
      }));
}

template <class Stream>
void ClientSession<Stream>::on_tunnel_upstream_read(error_code ec, std::size_t bytes) {
  Tunnel& t = *tunnel_;
  if (t.ended) return;
  if (ec) {
    if (ec != net::error::eof) return end_tunnel(TunnelEnd::UpstreamError);
    t.upstream_done = true;
    error_code ignored;
    shutdown_send(stream_, ignored);
    if (t.client_done) end_tunnel(TunnelEnd::Closed);
    return;
  }
  x_->upstream_in.end += bytes;
  tunnel_write_client();
}

// The first write carries the 101 head too.
template <class Stream>
void ClientSession<Stream>::tunnel_write_client() {
  Exchange& x = *x_;
  extend_tunnel_deadline();
  x.gather.clear();
  if (!x.response_head_written) x.gather.emplace_back(x.out_head.data(), x.out_head.size());
  const std::string_view bytes = x.upstream_in.bytes();
  if (!bytes.empty()) x.gather.emplace_back(bytes.data(), bytes.size());
  net::async_write(stream_, std::span<const net::const_buffer>(x.gather),
                   in_memory(tunnel_->memory, [self = this->shared_from_this()](error_code ec, std::size_t) {
                     self->on_tunnel_client_written(ec);
                   }));
}

template <class Stream>
void ClientSession<Stream>::on_tunnel_client_written(error_code ec) {
  Tunnel& t = *tunnel_;
  if (t.ended) return;
  if (ec) return end_tunnel(TunnelEnd::ClientError);
  Exchange& x = *x_;
  const std::size_t relayed = x.upstream_in.size();
  x.response_head_written = true;
  t.bytes_to_client += relayed;
  worker_.metrics().tunnel_bytes_to_client.fetch_add(relayed, std::memory_order_relaxed);
  x.upstream_in.consume(relayed);
  extend_tunnel_deadline();
  tunnel_read_upstream();
}

template <class Stream>
void ClientSession<Stream>::end_tunnel(TunnelEnd reason) {
  Tunnel& t = *tunnel_;
  if (t.ended) return;
  t.ended = true;
  worker_.metrics().record_tunnel_closed(to_string(reason));
  if (config_->settings.access_log) {
    const plan::RequestPlan& plan = x_->plan;
    log::info("tunnel_closed",
              {{"request_id", x_->request_id_view()},
               {"client", client_ip_},
               {"route", plan.route.route ? std::string_view(plan.route.route->name) : std::string_view()},
               {"reason", to_string(reason)},
               {"duration_ms", std::chrono::duration<double, std::milli>(clock::now() - t.opened).count()},
               {"bytes_to_upstream", t.bytes_to_upstream},
               {"bytes_to_client", t.bytes_to_client}});
  }
  if (reason != TunnelEnd::Closed) {
    // Cut short: each side still gets an orderly end of stream before the close.
    error_code ignored;
    shutdown_send(stream_, ignored);
    if (upstream_) upstream_->shutdown_send(ignored);
  }
  abort();
}

// ---- endings ------------------------------------------------------------------------------

template <class Stream>
void ClientSession<Stream>::begin_request() {
  config_ = worker_.config();
  client_is_trusted_ = http::is_trusted(config_->settings.trusted_proxies, client_address_);
  request_in_progress_ = true;
  x_->begin_request();
  x_->plan.normalized_path.clear();
  x_->plan.route = {};
  x_->plan.auth.outcome = {};
  x_->plan.auth.reason = {};
  x_->plan.auth.identity.reset();
  x_->head.method.clear();
}

template <class Stream>
void ClientSession<Stream>::complete_request(unsigned status) {
  if (!request_in_progress_) return;
  request_in_progress_ = false;
  Exchange& x = *x_;
  const plan::RequestPlan& plan = x.plan;
  const double duration_s = std::chrono::duration<double>(clock::now() - x.start).count();
  const std::string_view route = plan.route.route ? std::string_view(plan.route.route->name) : std::string_view();
  const std::string_view method = x.head.method.empty() ? std::string_view("-") : std::string_view(x.head.method);
  if (config_->settings.metrics) {
    const auth::TokenCacheStats& cache = worker_.verifier(*config_).cache_stats();
    worker_.metrics().record({route, method, status, duration_s, x.upstream_duration_s, plan.outcome(), plan.reason()},
                             {cache.hits, cache.misses, cache.evictions});
  }
  if (!config_->settings.access_log) return;
  const auth::Identity* identity = plan.auth.identity.get();
  const std::string* sub = identity ? identity->token.claims.string_at("sub") : nullptr;
  const std::string* tenant = identity ? identity->token.claims.string_at("tenant_id") : nullptr;
  // Answered before the head was read (431): the log line still gets an id.
  if (x.request_id_size == 0) x.request_id_size = random_request_id(x.request_id);
  log::info("request", {{"request_id", x.request_id_view()},
                        {"client", client_ip_},
                        {"route", route},
                        {"method", method},
                        {"path", plan.normalized_path},
                        {"status", status},
                        {"auth", plan.outcome()},
                        {"reason", plan.reason()},
                        {"sub", sub ? std::string_view(*sub) : std::string_view()},
                        {"tenant", tenant ? std::string_view(*tenant) : std::string_view()},
                        {"duration_ms", duration_s * 1000},
                        {"upstream_ms", x.upstream_duration_s ? *x.upstream_duration_s * 1000 : -1.0},
                        {"bytes_in", x.bytes_in},
                        {"bytes_out", x.bytes_out}});
}

template <class Stream>
bool ClientSession<Stream>::can_retry(error_code ec) const {
  return attempt_ == 1 && upstream_ && upstream_->reused && !x_->request_body_started && x_->request_body_done &&
         is_connection_loss(ec);
}

template <class Stream>
void ClientSession<Stream>::upstream_failed(error_code ec, bool response_bytes_seen) {
  if (!response_bytes_seen && can_retry(ec)) {
    // A pooled connection the upstream had already closed: replay the bodiless request once.
    upstream_.reset();
    x_->upstream_in.begin = x_->upstream_in.end = 0;
    x_->response.reset();
    return acquire_upstream(false);
  }
  const bool tls_error = upstream_ && upstream_->tls && ec.category() == net::error::get_ssl_category();
  if (tls_error) {
    note_tls_failure(ec);
  } else {
    log::warn("upstream_failed", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
  }
  upstream_.reset();
  if (x_->response_started) return abort();
  if (x_->request_body_started && !x_->request_body_done) keep_alive_ = false;  // unread body left on the wire
  const auto kind = is_timeout(ec)       ? http::UpstreamError::Timeout
                    : tls_error          ? http::UpstreamError::TlsFailed
                    : is_parse_error(ec) ? http::UpstreamError::BadResponse
                                         : http::UpstreamError::Reset;
  send_local_reply(http::reply_for(kind));
}

template <class Stream>
void ClientSession<Stream>::send_local_reply(const http::LocalReply& reply) {
  Exchange& x = *x_;
  const bool body_unread = !x.request_body_done;
  const bool close = reply.close_connection || !keep_alive_ || body_unread ||
                     worker_.shared().draining.load(std::memory_order_relaxed);
  std::string& out = x.out_head;
  out.clear();
  char number[24];
  auto append_number = [&](std::uint64_t n) {
    const auto end = std::to_chars(number, number + sizeof number, n).ptr;
    out.append(number, static_cast<std::size_t>(end - number));
  };
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status));
  out.append("HTTP/1.1 ");
  append_number(reply.status);
  out.append(" ").append(reason.data(), reason.size()).append("\r\n");
  out.append("Content-Type: application/json\r\nCache-Control: no-store\r\n");
  for (const auto& [name, value] : reply.headers) out.append(name).append(": ").append(value).append("\r\n");
  const std::string body = reply.status >= 300 ? reply.json_body() : std::string();
  out.append("Content-Length: ");
  append_number(body.size());
  out.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n");
  out.append(body);
  x.bytes_out += body.size();
  x.response_status = reply.status;
  set_deadline(milliseconds(config_->settings.idle_timeout_ms));
  net::async_write(stream_, net::buffer(out.data(), out.size()),
                   io([self = this->shared_from_this(), close](error_code ec, std::size_t) { self->on_local_reply_written(ec, close); }));
}

template <class Stream>
void ClientSession<Stream>::on_local_reply_written(error_code ec, bool close) {
  complete_request(x_->response_status);
  if (ec) return abort();
  upstream_.reset();
  x_->response.reset();
  x_->request_body.reset();
  if (close) {
    keep_alive_ = false;
    return close_gracefully();
  }
  head_deadline_ = coarse_now() + milliseconds(config_->settings.request_header_timeout_ms);
  do_read_head();
}

template <class Stream>
void ClientSession<Stream>::release_exchange() {
  if (x_) worker_.exchanges().give_back(std::move(x_));
}

template <class Stream>
void ClientSession<Stream>::close_gracefully() {
  // Half-close, then read and discard for a moment: closing with unread bytes would send a RST
  // that can destroy the response still in flight to the client.
  release_exchange();
  if constexpr (kIsTls<Stream>) {
    // close_notify, then wait (within the linger time) for the client's before closing.
    set_deadline(kLingerTime);
    stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->abort(); });
  } else {
    error_code ec;
    shutdown_send(stream_, ec);
    if (ec) return abort();
    set_deadline(kLingerTime);
    do_linger();
  }
}

template <class Stream>
void ClientSession<Stream>::do_linger() {
  stream_.async_read_some(net::buffer(idle_bytes_), [self = this->shared_from_this()](error_code ec, std::size_t) {
    if (ec) return self->abort();
    self->do_linger();
  });
}

template <class Stream>
void ClientSession<Stream>::abort() {
  // A request cut short: the client went away (499, as nginx logs it) or the response broke.
  if (request_in_progress_ && x_) complete_request(x_->response_started ? x_->response_status : 499);
  request_in_progress_ = false;
  waiting_for_request_ = false;
  closed_ = true;
  ++key_wait_id_;
  ++timer_generation_;
  if (key_wait_timer_) key_wait_timer_->cancel();
  timer_.cancel();
  if (resolver_) resolver_->cancel();
  error_code ec;
  // Closed here, destroyed with the session: a composed write (a tunnel's other direction) may
  // have a completion queued that continues on this socket.
  if (upstream_) upstream_->socket.close(ec);
  lowest_socket(stream_).close(ec);
}

template class ClientSession<tcp::socket>;
template class ClientSession<TlsStream>;

}  // namespace claimgate::proxy
