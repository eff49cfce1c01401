#include "proxy/client_session.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstdio>
#include <random>

#include "auth/decision.h"
#include "core/log.h"
#include "proxy/forwarding.h"
#include "proxy/worker.h"

namespace claimgate::proxy {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;

namespace {
constexpr std::size_t kMaxResponseHeaderBytes = 64 * 1024;
constexpr std::size_t kHeadReadBytes = 16 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool is_timeout(const boost::system::error_code& ec) { return ec == beast::error::timeout; }

// The client's X-Request-Id when it is a sane token, else 128 random bits in hex.
std::string request_id_for(const bhttp::fields& fields) {
  if (auto it = fields.find("X-Request-Id"); it != fields.end()) {
    const std::string_view v = it->value();
    if (!v.empty() && v.size() <= 128 && http::is_token(v)) return std::string(v);
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(out, 32);
}

bool is_connection_loss(const boost::system::error_code& ec) {
  return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == bhttp::error::end_of_stream || ec == net::error::connection_aborted;
}
}  // namespace

ClientSession::ClientSession(Worker& worker, tcp::socket socket)
    : worker_(worker), config_(worker.config()), stream_(std::move(socket)), key_wait_timer_(worker.ioc()) {
  worker_.add_session(this);
  worker_.shared().live_connections.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ec;
  const auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    const net::ip::address address = remote.address();
    client_ip_ = address.to_string();
    const auto v6 = address.is_v4() ? net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()) : address.to_v6();
    client_address_ = v6.to_bytes();
  }
  stream_.socket().set_option(tcp::no_delay(true), ec);
}

ClientSession::~ClientSession() {
  worker_.remove_session(this);
  worker_.shared().live_connections.fetch_sub(1, std::memory_order_relaxed);
}

void ClientSession::run() { do_read_head(); }

void ClientSession::on_drain() {
  if (waiting_for_request_) stream_.cancel();
}

// ---- request head -------------------------------------------------------------------------

void ClientSession::do_read_head() {
  const Settings& s = config_->settings;
  // RFC 9112 section 2.2: ignore empty lines before a request line.
  while (buffer_.size() > 0) {
    const char first = *static_cast<const char*>(buffer_.data().data());
    if (first != '\r' && first != '\n') break;
    buffer_.consume(1);
  }
  if (buffer_.size() > 0) {
    const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (const auto end = http::find_head_end(bytes)) {
      if (*end <= s.max_request_header_bytes) return on_head(*end);
      begin_request();
      return send_local_reply(http::reply_header_too_large());
    }
    if (buffer_.size() >= s.max_request_header_bytes) {
      begin_request();
      return send_local_reply(http::reply_header_too_large());
    }
  }
  if (buffer_.size() == 0) {
    if (worker_.shared().draining.load(std::memory_order_relaxed) && !keep_alive_) return close_gracefully();
    waiting_for_request_ = true;
    stream_.expires_after(milliseconds(s.idle_timeout_ms));
  } else {
    stream_.expires_at(head_deadline_);
  }
  const std::size_t room = std::min(kHeadReadBytes, s.max_request_header_bytes + 4 - buffer_.size());
  stream_.async_read_some(buffer_.prepare(room), beast::bind_front_handler(&ClientSession::on_read_head, shared_from_this()));
}

void ClientSession::on_read_head(error_code ec, std::size_t bytes) {
  if (ec) return abort();  // idle/header timeout, client gone, or drain: close quietly
  if (waiting_for_request_) {
    waiting_for_request_ = false;
    head_deadline_ = std::chrono::steady_clock::now() + milliseconds(config_->settings.request_header_timeout_ms);
  }
  buffer_.commit(bytes);
  do_read_head();
}

void ClientSession::on_head(std::size_t head_bytes) {
  begin_request();
  const Settings& s = config_->settings;
  const std::string_view head_text(static_cast<const char*>(buffer_.data().data()), head_bytes);
  auto head = http::inspect_request_head(head_text);
  if (!head) {
    log::debug("request_rejected", {{"reason", http::to_string(head.error())}, {"client", client_ip_}});
    return send_local_reply(http::reply_for(head.error()));
  }
  head_ = std::move(*head);

  if (s.max_request_body_bytes != 0 && head_.content_length && *head_.content_length > s.max_request_body_bytes)
    return send_local_reply(http::reply_body_too_large());

  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(s.max_request_header_bytes + 4));
  if (s.max_request_body_bytes == 0) {
    parser_->body_limit(boost::none);
  } else {
    parser_->body_limit(s.max_request_body_bytes);
  }
  error_code ec;
  const std::size_t used = parser_->put(net::buffer(buffer_.data().data(), head_bytes), ec);
  if (ec || used != head_bytes || !parser_->is_header_done()) {
    return send_local_reply(http::reply_malformed_request(ec ? ec.message() : "incomplete header"));
  }
  buffer_.consume(head_bytes);
  request_id_ = request_id_for(parser_->get());

  const bool draining = worker_.shared().draining.load(std::memory_order_relaxed);
  keep_alive_ = parser_->get().keep_alive() && !draining;

  auth_method_ = head_.method;
  auth_host_ = head_.host;
  auth_target_ = head_.target;
  forward_auth_ = !config_->settings.forward_auth.path.empty() && head_.path() == config_->settings.forward_auth.path;
  if (forward_auth_) {
    if (!http::is_trusted(config_->settings.forward_auth.trusted_sources, client_address_))
      return send_local_reply(http::reply_forbidden("Forward-auth requests are accepted only from trusted sources."));
    if (auto missing = take_forwarded_request(); !missing.empty()) return send_local_reply(http::reply_forbidden(missing));
  }

  const std::string_view target = auth_target_;
  auto path = policy::normalize_path(target.substr(0, target.find('?')), config_->path_options);
  if (!path) {
    // The request itself was well framed: answer and keep the connection. Forward-auth callers
    // (nginx) only understand 2xx/401/403, so a rejected path is 403 there.
    const std::string description(policy::describe(path.error()));
    return send_local_reply(forward_auth_ ? http::reply_forbidden(description)
                                          : http::reply_rejected_path(description));
  }
  normalized_path_ = std::move(*path);
  auto match = config_->routes.match(auth_method_, auth_host_, normalized_path_);
  if (!match) return send_local_reply(forward_auth_ ? http::reply_forbidden("No route matches this request.") : http::reply_no_route());
  route_ = std::move(*match);
  upstream_spec_ = config_->settings.find_upstream(route_.route->upstream);
  authenticate(true);
}

// The original request of a forward-auth call: Traefik (and Envoy ext_authz) send
// X-Forwarded-Method/-Host/-Uri, nginx auth_request X-Original-Method/-URI. Returns what is
// missing, or "" when the original request is known.
std::string ClientSession::take_forwarded_request() {
  const auto& fields = parser_->get();
  auto value = [&](std::string_view a, std::string_view b) -> std::optional<std::string> {
    for (std::string_view name : {a, b}) {
      if (auto it = fields.find(name); it != fields.end()) return std::string(it->value());
    }
    return std::nullopt;
  };
  auto uri = value("X-Forwarded-Uri", "X-Original-URI");
  if (!uri || !uri->starts_with('/')) return "Forward-auth needs X-Forwarded-Uri or X-Original-URI with an origin-form path.";
  auth_target_ = std::move(*uri);
  if (auto method = value("X-Forwarded-Method", "X-Original-Method")) {
    if (!http::is_token(*method)) return "X-Forwarded-Method is not an HTTP method.";
    auth_method_ = std::move(*method);
  }
  if (auto host = value("X-Forwarded-Host", "X-Original-Host")) auth_host_ = std::move(*host);
  return {};
}

void ClientSession::authenticate(bool may_wait) {
  request_fields_.clear();
  for (const auto& f : parser_->get()) request_fields_.emplace_back(f.name_string(), f.value());
  const std::string_view target = auth_target_;
  const auto question = target.find('?');
  const std::string_view query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
  const auth::RequestFacts facts{auth_method_, request_fields_, query, &route_.captures};
  auth::TokenVerifier& verifier = worker_.verifier(*config_);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  auth::AuthDecision decision = auth::decide(verifier, *route_.route, facts, now, may_wait);
  auth_outcome_ = decision.outcome;
  auth_reason_ = decision.reason;
  identity_ = decision.identity;
  switch (decision.action) {
    case auth::AuthDecision::Action::Reply:
      // 400 means nothing to an auth_request caller; the challenge is the same.
      if (forward_auth_ && decision.reply.status == 400) decision.reply.status = 401;
      return send_local_reply(decision.reply);
    case auth::AuthDecision::Action::WaitForKeys:
      return wait_for_keys(decision.provider);
    case auth::AuthDecision::Action::Forward:
      break;
  }
  if (forward_auth_) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (decision.identity) headers = config_->authenticator->claim_headers().values_for(*decision.identity);
    return send_local_reply(http::reply_allowed(std::move(headers)));
  }
  build_upstream_request(decision);
  attempt_ = 0;
  acquire_upstream(true);
}

// An unknown kid: one refetch (shared with other waiting requests), waited on for a bounded time.
void ClientSession::wait_for_keys(std::size_t provider) {
  const auth::Authenticator& authenticator = *config_->authenticator;
  const std::uint64_t wait = ++key_wait_id_;
  auto self = shared_from_this();
  auto resume = [self, wait] {
    if (self->key_wait_id_ != wait) return;
    ++self->key_wait_id_;
    self->key_wait_timer_.cancel();
    self->authenticate(false);
  };
  const milliseconds max_wait(authenticator.provider(provider).spec().unknown_kid_wait_ms);
  const bool accepted = authenticator.provider(provider).request_refresh(
      [executor = stream_.get_executor(), resume] { net::post(executor, resume); }, max_wait);
  if (!accepted) return authenticate(false);
  key_wait_timer_.expires_after(max_wait);
  key_wait_timer_.async_wait([resume](error_code ec) {
    if (!ec) resume();
  });
}

void ClientSession::build_upstream_request(const auth::AuthDecision& decision) {
  upstream_request_ = {};
  const auto& incoming = parser_->get();
  const auth::Authenticator& authenticator = *config_->authenticator;
  ForwardingContext context{client_ip_, client_is_trusted_, head_, *upstream_spec_, &authenticator.claim_headers()};
  const auth::AuthSettings& auth_settings = authenticator.settings();
  std::string target = normalized_path_;
  std::string_view query;
  if (const auto q = head_.target.find('?'); q != std::string::npos) query = std::string_view(head_.target).substr(q + 1);
  std::string stripped_query;
  for (const auth::FoundToken& t : decision.tokens) {
    const auth::TokenSource& source = auth_settings.token_sources[t.source_index];
    if (source.kind == auth::TokenSource::Kind::Query) {
      // A token in the URL never travels further.
      stripped_query = auth::remove_query_parameter(query, source.name);
      query = stripped_query;
    } else if (auth_settings.strip_token) {
      auto& names = source.kind == auth::TokenSource::Kind::Header ? context.strip_token_headers : context.strip_cookies;
      names.push_back(source.name);
    }
  }
  if (!query.empty()) {
    target += '?';
    target += query;
  }
  copy_request_fields(incoming, context, upstream_request_);
  if (decision.identity) {
    for (auto& [name, value] : authenticator.claim_headers().values_for(*decision.identity)) upstream_request_.set(name, value);
  }
  upstream_request_.set("X-Request-Id", request_id_);
  upstream_request_.method_string(incoming.method_string());
  upstream_request_.target(target);
  upstream_request_.version(11);
  if (head_.chunked) upstream_request_.chunked(true);
}

// ---- upstream connection ------------------------------------------------------------------

void ClientSession::acquire_upstream(bool allow_pooled) {
  ++attempt_;
  request_body_started_ = false;
  response_started_ = false;
  if (allow_pooled) upstream_ = worker_.pool().take(*upstream_spec_);
  if (upstream_) return do_write_request_header();

  upstream_ = std::make_unique<UpstreamConnection>(worker_.ioc(), worker_.open_upstream_connections());
  boost::system::error_code ec;
  const auto address = net::ip::make_address(upstream_spec_->host, ec);
  if (!ec) {
    upstream_->stream.expires_after(milliseconds(upstream_spec_->connect_timeout_ms));
    upstream_->stream.async_connect(tcp::endpoint(address, upstream_spec_->port),
                                    beast::bind_front_handler(&ClientSession::on_connected, shared_from_this()));
    return;
  }
  resolver_.emplace(worker_.ioc());
  resolver_->async_resolve(upstream_spec_->host, std::to_string(upstream_spec_->port),
                           beast::bind_front_handler(&ClientSession::on_resolved, shared_from_this()));
}

void ClientSession::on_resolved(error_code ec, tcp::resolver::results_type results) {
  if (ec) {
    worker_.metrics().record_connect_error(upstream_spec_->name);
    log::warn("upstream_resolve_failed", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    upstream_.reset();
    return send_local_reply(http::reply_for(http::UpstreamError::Unavailable));
  }
  upstream_->stream.expires_after(milliseconds(upstream_spec_->connect_timeout_ms));
  upstream_->stream.async_connect(results, [self = shared_from_this()](error_code e, const tcp::endpoint&) {
    self->on_connected(e);
  });
}

void ClientSession::on_connected(error_code ec) {
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
  upstream_->stream.socket().set_option(tcp::no_delay(true), ignored);
  do_write_request_header();
}

// ---- request relay ------------------------------------------------------------------------

// The request header goes out together with the first body chunk (or alone when there is no
// body): one write per chunk, never a separate write for the header.
void ClientSession::do_write_request_header() {
  upstream_start_ = std::chrono::steady_clock::now();
  upstream_request_.body().data = nullptr;
  upstream_request_.body().size = 0;
  upstream_request_.body().more = false;
  request_serializer_.emplace(upstream_request_);
  if (parser_->is_done()) {
    upstream_->stream.expires_after(milliseconds(upstream_spec_->response_timeout_ms));
    return bhttp::async_write(upstream_->stream, *request_serializer_,
                              beast::bind_front_handler(&ClientSession::on_request_body_written, shared_from_this()));
  }
  if (head_.expect_continue && buffer_.size() == 0) {
    stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
    return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                            [self = shared_from_this()](error_code e, std::size_t) {
                              if (e) return self->abort();
                              self->do_relay_request_body();
                            });
  }
  do_relay_request_body();
}

void ClientSession::do_relay_request_body() {
  if (!body_chunk_) body_chunk_ = std::make_unique<char[]>(kBodyChunkBytes);
  request_body_started_ = true;
  auto& body = parser_->get().body();
  body.data = body_chunk_.get();
  body.size = kBodyChunkBytes;
  stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
  bhttp::async_read_some(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&ClientSession::on_request_body_read, shared_from_this()));
}

void ClientSession::on_request_body_read(error_code ec, std::size_t) {
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    upstream_.reset();  // half a request went upstream: that connection can never be reused
    if (ec == bhttp::error::body_limit) return send_local_reply(http::reply_body_too_large());
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category())
      return send_local_reply(http::reply_malformed_request(ec.message()));
    return abort();
  }
  const std::size_t got = kBodyChunkBytes - parser_->get().body().size;
  bytes_in_ += got;
  if (got == 0 && !parser_->is_done()) return do_relay_request_body();
  auto& out = upstream_request_.body();
  out.data = got ? body_chunk_.get() : nullptr;
  out.size = got;
  out.more = !parser_->is_done();
  upstream_->stream.expires_after(milliseconds(upstream_spec_->response_timeout_ms));
  bhttp::async_write(upstream_->stream, *request_serializer_,
                     beast::bind_front_handler(&ClientSession::on_request_body_written, shared_from_this()));
}

void ClientSession::on_request_body_written(error_code ec, std::size_t) {
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) return upstream_failed(ec, false);
  if (request_serializer_->is_done()) return do_read_response_header();
  do_relay_request_body();
}

// ---- response relay -----------------------------------------------------------------------

void ClientSession::do_read_response_header() {
  response_parser_.emplace();
  response_parser_->header_limit(kMaxResponseHeaderBytes);
  response_parser_->body_limit(boost::none);
  if (head_.method == "HEAD") response_parser_->skip(true);
  upstream_->stream.expires_after(milliseconds(upstream_spec_->response_timeout_ms));
  bhttp::async_read_header(upstream_->stream, upstream_buffer_, *response_parser_,
                           beast::bind_front_handler(&ClientSession::on_response_header, shared_from_this()));
}

void ClientSession::on_response_header(error_code ec, std::size_t) {
  if (ec) return upstream_failed(ec, response_parser_->got_some());
  const auto& incoming = response_parser_->get();
  const unsigned status = incoming.result_int();
  if (status == 101) return upstream_failed(bhttp::error::bad_status, true);
  if (status >= 100 && status < 200) return do_read_response_header();  // interim responses are not relayed
  upstream_duration_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - upstream_start_).count();

  client_response_ = {};
  copy_response_fields(incoming, client_response_);
  client_response_.result(status);
  client_response_.reason(incoming.reason());
  client_response_.version(11);
  const bool bodiless = head_.method == "HEAD" || status == 204 || status == 304;
  if (!bodiless && !response_parser_->content_length()) {
    // Chunked or close-delimited from the upstream: chunked to an HTTP/1.1 client, close-delimited otherwise.
    if (parser_->get().version() >= 11) {
      client_response_.chunked(true);
    } else {
      keep_alive_ = false;
    }
  }
  if (worker_.shared().draining.load(std::memory_order_relaxed)) keep_alive_ = false;
  client_response_.keep_alive(keep_alive_);
  client_response_.body().data = nullptr;
  client_response_.body().size = 0;
  client_response_.body().more = false;
  response_serializer_.emplace(client_response_);
  response_started_ = true;
  if (response_parser_->is_done()) {
    stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
    return bhttp::async_write(stream_, *response_serializer_,
                              beast::bind_front_handler(&ClientSession::on_response_body_written, shared_from_this()));
  }
  // Body bytes already here: send them with the header in one write. Otherwise send the header
  // now, so a client of a slow stream (long poll, SSE) sees the status without waiting.
  if (upstream_buffer_.size() > 0) return do_relay_response_body();
  client_response_.body().more = true;
  stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
  bhttp::async_write_header(stream_, *response_serializer_,
                            beast::bind_front_handler(&ClientSession::on_response_header_written, shared_from_this()));
}

void ClientSession::on_response_header_written(error_code ec, std::size_t) {
  if (ec) return abort();
  do_relay_response_body();
}

void ClientSession::do_relay_response_body() {
  if (!body_chunk_) body_chunk_ = std::make_unique<char[]>(kBodyChunkBytes);
  auto& body = response_parser_->get().body();
  body.data = body_chunk_.get();
  body.size = kBodyChunkBytes;
  upstream_->stream.expires_after(milliseconds(upstream_spec_->response_timeout_ms));
  bhttp::async_read_some(upstream_->stream, upstream_buffer_, *response_parser_,
                         beast::bind_front_handler(&ClientSession::on_response_body_read, shared_from_this()));
}

void ClientSession::on_response_body_read(error_code ec, std::size_t) {
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) {
    // The client already has the status line: all that is left is to cut its connection.
    log::warn("upstream_response_cut", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
    return abort();
  }
  const std::size_t got = kBodyChunkBytes - response_parser_->get().body().size;
  bytes_out_ += got;
  if (got == 0 && !response_parser_->is_done()) return do_relay_response_body();
  auto& out = client_response_.body();
  out.data = got ? body_chunk_.get() : nullptr;
  out.size = got;
  out.more = !response_parser_->is_done();
  stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
  bhttp::async_write(stream_, *response_serializer_,
                     beast::bind_front_handler(&ClientSession::on_response_body_written, shared_from_this()));
}

void ClientSession::on_response_body_written(error_code ec, std::size_t) {
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec) return abort();
  if (!response_serializer_->is_done()) return do_relay_response_body();
  finish_exchange();
}

void ClientSession::finish_exchange() {
  complete_request(client_response_.result_int());
  const bool upstream_reusable = response_parser_->is_done() && response_parser_->keep_alive() &&
                                 upstream_buffer_.size() == 0 && request_serializer_->is_done();
  if (upstream_reusable) {
    worker_.pool().give_back(*upstream_spec_, std::move(upstream_));
  }
  upstream_.reset();
  upstream_buffer_.clear();
  request_serializer_.reset();
  response_serializer_.reset();
  response_parser_.reset();
  parser_.reset();
  if (!keep_alive_) return close_gracefully();
  do_read_head();
}

// ---- endings ------------------------------------------------------------------------------

void ClientSession::begin_request() {
  config_ = worker_.config();
  client_is_trusted_ = http::is_trusted(config_->settings.trusted_proxies, client_address_);
  request_in_progress_ = true;
  request_start_ = std::chrono::steady_clock::now();
  upstream_duration_s_.reset();
  auth_outcome_ = {};
  auth_reason_ = {};
  identity_.reset();
  route_ = {};
  normalized_path_.clear();
  bytes_in_ = 0;
  bytes_out_ = 0;
  request_id_.clear();
}

void ClientSession::complete_request(unsigned status) {
  if (!request_in_progress_) return;
  request_in_progress_ = false;
  const double duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start_).count();
  const std::string_view route = route_.route ? std::string_view(route_.route->name) : std::string_view();
  const std::string_view method = parser_ ? head_.method : std::string_view("-");
  if (config_->settings.metrics) {
    const auth::TokenCacheStats& cache = worker_.verifier(*config_).cache_stats();
      worker_.metrics().record({route, method, status, duration_s, upstream_duration_s_, auth_outcome_, auth_reason_},
                             {cache.hits, cache.misses, cache.evictions});
  }
  if (!config_->settings.access_log) return;
  const std::string* sub = identity_ ? identity_->token.claims.string_at("sub") : nullptr;
  const std::string* tenant = identity_ ? identity_->token.claims.string_at("tenant_id") : nullptr;
  log::info("request", {{"request_id", request_id_},
                        {"client", client_ip_},
                        {"route", route},
                        {"method", method},
                        {"path", normalized_path_},
                        {"status", status},
                        {"auth", auth_outcome_},
                        {"reason", auth_reason_},
                        {"sub", sub ? std::string_view(*sub) : std::string_view()},
                        {"tenant", tenant ? std::string_view(*tenant) : std::string_view()},
                        {"duration_ms", duration_s * 1000},
                        {"upstream_ms", upstream_duration_s_ ? *upstream_duration_s_ * 1000 : -1.0},
                        {"bytes_in", bytes_in_},
                        {"bytes_out", bytes_out_}});
}

bool ClientSession::can_retry(error_code ec) const {
  return attempt_ == 1 && upstream_ && upstream_->reused && !request_body_started_ && parser_->is_done() &&
         is_connection_loss(ec);
}

void ClientSession::upstream_failed(error_code ec, bool response_bytes_seen) {
  if (!response_bytes_seen && can_retry(ec)) {
    // A pooled connection the upstream had already closed: replay the bodiless request once.
    upstream_.reset();
    upstream_buffer_.clear();
    return acquire_upstream(false);
  }
  log::warn("upstream_failed", {{"upstream", upstream_spec_->name}, {"error", ec.message()}});
  upstream_.reset();
  if (response_started_) return abort();
  if (request_body_started_ && !parser_->is_done()) keep_alive_ = false;  // unread body left on the wire
  const auto kind = is_timeout(ec)                                                  ? http::UpstreamError::Timeout
                    : ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
                              ec != bhttp::error::end_of_stream
                        ? http::UpstreamError::BadResponse
                        : http::UpstreamError::Reset;
  send_local_reply(http::reply_for(kind));
}

void ClientSession::send_local_reply(const http::LocalReply& reply) {
  const bool body_unread = parser_ && parser_->is_header_done() && !parser_->is_done();
  const bool close = reply.close_connection || !keep_alive_ || body_unread || !parser_ ||
                     worker_.shared().draining.load(std::memory_order_relaxed);
  local_response_ = {};
  local_response_.version(11);
  local_response_.result(reply.status);
  local_response_.set(bhttp::field::content_type, "application/json");
  local_response_.set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : reply.headers) local_response_.set(name, value);
  if (reply.status >= 300) local_response_.body() = reply.json_body();
  local_response_.keep_alive(!close);
  local_response_.prepare_payload();
  stream_.expires_after(milliseconds(config_->settings.idle_timeout_ms));
  bhttp::async_write(stream_, local_response_,
                     [self = shared_from_this(), close](error_code ec, std::size_t) { self->on_local_reply_written(ec, close); });
}

void ClientSession::on_local_reply_written(error_code ec, bool close) {
  bytes_out_ += local_response_.body().size();
  complete_request(local_response_.result_int());
  if (ec) return abort();
  upstream_.reset();
  request_serializer_.reset();
  response_serializer_.reset();
  response_parser_.reset();
  parser_.reset();
  if (close) {
    keep_alive_ = false;
    return close_gracefully();
  }
  do_read_head();
}

void ClientSession::close_gracefully() {
  // Half-close, then read and discard for a moment: closing with unread bytes would send a RST
  // that can destroy the response still in flight to the client.
  error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return abort();
  stream_.expires_after(kLingerTime);
  do_linger();
}

void ClientSession::do_linger() {
  stream_.async_read_some(net::buffer(linger_buffer_), [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) return self->abort();
    self->do_linger();
  });
}

void ClientSession::abort() {
  // A request cut short: the client went away (499, as nginx logs it) or the response broke.
  if (request_in_progress_) complete_request(response_started_ ? client_response_.result_int() : 499);
  waiting_for_request_ = false;
  ++key_wait_id_;
  key_wait_timer_.cancel();
  upstream_.reset();
  error_code ec;
  stream_.socket().close(ec);
}

}  // namespace claimgate::proxy
