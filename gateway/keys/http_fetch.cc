#include "keys/http_fetch.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/version.hpp>

#include <openssl/ssl.h>

#include <charconv>
#include <memory>

namespace claimgate::keys {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

std::optional<std::int64_t> parse_max_age(std::string_view value) {
  std::optional<std::int64_t> max_age;
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view directive = value.substr(0, comma);
    while (!directive.empty() && directive.front() == ' ') directive.remove_prefix(1);
    while (!directive.empty() && directive.back() == ' ') directive.remove_suffix(1);
    if (directive == "no-store" || directive == "no-cache") return std::nullopt;
    constexpr std::string_view kMaxAge = "max-age=";
    if (directive.size() > kMaxAge.size() && directive.substr(0, kMaxAge.size()) == kMaxAge) {
      std::string_view digits = directive.substr(kMaxAge.size());
      if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"') digits = digits.substr(1, digits.size() - 2);
      std::int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec == std::errc{} && ptr == digits.data() + digits.size() && v >= 0) max_age = v;
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return max_age;
}

namespace {

class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(net::io_context& ioc, ssl::context* tls, HttpUrl url, std::chrono::milliseconds timeout, FetchCallback done)
      : resolver_(ioc), url_(std::move(url)), timeout_(timeout), done_(std::move(done)) {
    if (url_.tls) {
      tls_.emplace(ioc, *tls);
    } else {
      plain_.emplace(ioc);
    }
  }

  void run() {
    deadline_ = std::chrono::steady_clock::now() + timeout_;
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            beast::bind_front_handler(&Fetch::on_resolve, shared_from_this()));
  }

 private:
  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return finish("cannot resolve " + url_.host + ": " + ec.message());
    tcp().expires_at(deadline_);
    tcp().async_connect(results, [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return finish("cannot connect: " + ec.message());
    auto* tls = tls_ ? &*tls_ : nullptr;
    if (!tls) return do_write();
    // SNI, and the certificate must name this host (RFC 6125 matching by OpenSSL).
    if (!SSL_set_tlsext_host_name(tls->native_handle(), url_.host.c_str()))
      return finish("cannot set SNI host name");
    tls->set_verify_mode(ssl::verify_peer);
    tls->set_verify_callback(ssl::host_name_verification(url_.host));
    tls->async_handshake(ssl::stream_base::client, beast::bind_front_handler(&Fetch::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return finish("TLS handshake failed: " + ec.message());
    do_write();
  }

  void do_write() {
    request_.version(11);
    request_.method(bhttp::verb::get);
    request_.target(url_.target);
    const bool default_port = url_.port == (url_.tls ? 443 : 80);
    const std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    request_.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(url_.port));
    request_.set(bhttp::field::user_agent, "claimgate");
    request_.set(bhttp::field::accept, "application/json, application/jwk-set+json");
    request_.set(bhttp::field::connection, "close");
    tcp().expires_at(deadline_);
    with_stream([&](auto& s) {
      bhttp::async_write(s, request_, beast::bind_front_handler(&Fetch::on_write, shared_from_this()));
    });
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return finish("cannot send request: " + ec.message());
    parser_.body_limit(kMaxJwksResponseBytes);
    tcp().expires_at(deadline_);
    with_stream([&](auto& s) {
      bhttp::async_read(s, buffer_, parser_, beast::bind_front_handler(&Fetch::on_read, shared_from_this()));
    });
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == beast::error::timeout) return finish("timed out after " + std::to_string(timeout_.count()) + " ms");
    if (ec) return finish("cannot read response: " + ec.message());
    FetchResponse response;
    const auto& msg = parser_.get();
    response.status = msg.result_int();
    if (auto it = msg.find(bhttp::field::cache_control); it != msg.end()) response.max_age_s = parse_max_age(it->value());
    response.body = std::move(parser_.get().body());
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    done_(std::move(response));
  }

  void finish(std::string error) {
    beast::error_code ignored;
    tcp().socket().close(ignored);
    done_(fail(std::move(error)));
  }

  tcp::resolver resolver_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  HttpUrl url_;
  std::chrono::milliseconds timeout_;
  std::chrono::steady_clock::time_point deadline_;
  FetchCallback done_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> request_;
  bhttp::response_parser<bhttp::string_body> parser_;
};

}  // namespace

void fetch_url(net::io_context& ioc, ssl::context* tls, const HttpUrl& url, std::chrono::milliseconds timeout,
               FetchCallback done) {
  if (url.tls && !tls) {
    net::post(ioc, [done = std::move(done)] { done(fail(std::string("no TLS context for an https URL"))); });
    return;
  }
  std::make_shared<Fetch>(ioc, tls, url, timeout, std::move(done))->run();
}

}  // namespace claimgate::keys
