#include "admin/admin_server.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <system_error>

#include "core/log.h"

namespace claimgate::admin {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto kAdminIdleTimeout = std::chrono::seconds(30);

class AdminSession : public std::enable_shared_from_this<AdminSession> {
 public:
  AdminSession(tcp::socket socket, std::shared_ptr<const AdminServer::Handlers> handlers)
      : stream_(std::move(socket)), handlers_(std::move(handlers)) {}

  void run() { do_read(); }

 private:
  void do_read() {
    request_ = {};
    stream_.expires_after(kAdminIdleTimeout);
    bhttp::async_read(stream_, buffer_, request_, beast::bind_front_handler(&AdminSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    response_ = {};
    response_.version(11);
    response_.set(bhttp::field::content_type, "application/json");
    response_.set(bhttp::field::cache_control, "no-store");
    const std::string_view target = request_.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (request_.method() != bhttp::verb::get && request_.method() != bhttp::verb::head) {
      response_.result(bhttp::status::method_not_allowed);
      response_.set(bhttp::field::allow, "GET, HEAD");
      response_.body() = "{\"error\":\"method_not_allowed\"}\n";
    } else if (path == "/healthz") {
      response_.result(bhttp::status::ok);
      response_.body() = "{\"status\":\"ok\"}\n";
    } else if (path == "/metrics") {
      response_.result(bhttp::status::ok);
      response_.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response_.body() = handlers_->metrics();
    } else if (path == "/readyz") {
      const bool ready = handlers_->is_ready();
      response_.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      response_.body() = ready ? "{\"status\":\"ready\"}\n" : "{\"status\":\"not_ready\"}\n";
    } else {
      response_.result(bhttp::status::not_found);
      response_.body() = "{\"error\":\"not_found\"}\n";
    }
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    bhttp::async_write(stream_, response_, beast::bind_front_handler(&AdminSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive()) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{16 * 1024};
  bhttp::request<bhttp::empty_body> request_;
  bhttp::response<bhttp::string_body> response_;
  std::shared_ptr<const AdminServer::Handlers> handlers_;
};

}  // namespace

AdminServer::AdminServer(net::io_context& ioc, const proxy::Endpoint& endpoint, Handlers handlers)
    : ioc_(ioc), acceptor_(ioc), handlers_(std::make_shared<const Handlers>(std::move(handlers))) {
  const tcp::endpoint ep(net::ip::make_address(endpoint.host), endpoint.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  beast::error_code ec;
  acceptor_.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind admin " + endpoint.host + ":" + std::to_string(endpoint.port));
  acceptor_.listen();
}

void AdminServer::start() { do_accept(); }

void AdminServer::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

std::uint16_t AdminServer::port() const { return acceptor_.local_endpoint().port(); }

void AdminServer::do_accept() {
  acceptor_.async_accept(ioc_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<AdminSession>(std::move(socket), handlers_)->run();
    do_accept();
  });
}

}  // namespace claimgate::admin
