#include "tools/demo_upstream.h"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace claimgate::tools {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  explicit EchoSession(tcp::socket socket) : stream_(std::move(socket)) {}
  void run() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&EchoSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return;
    const auto& req = parser_->get();
    std::string body = "{\"method\":\"";
    log::append_json_escaped(body, req.method_string());
    body += "\",\"target\":\"";
    log::append_json_escaped(body, req.target());
    body += "\",\"body_bytes\":" + std::to_string(req.body().size()) + ",\"headers\":{";
    bool first = true;
    for (const auto& f : req) {
      body += first ? "\"" : ",\"";
      first = false;
      log::append_json_escaped(body, f.name_string());
      body += "\":\"";
      log::append_json_escaped(body, f.value());
      body += '"';
    }
    body += "}}\n";
    response_ = {};
    response_.version(11);
    response_.result(bhttp::status::ok);
    response_.set(bhttp::field::content_type, "application/json");
    response_.set(bhttp::field::server, "claimgate-demo-upstream");
    response_.body() = std::move(body);
    response_.keep_alive(req.keep_alive());
    response_.prepare_payload();
    bhttp::async_write(stream_, response_, beast::bind_front_handler(&EchoSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec || !response_.keep_alive()) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> response_;
};

}  // namespace

DemoUpstream::DemoUpstream(net::io_context& ioc) : ioc_(ioc), acceptor_(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {}

void DemoUpstream::start() { do_accept(); }

std::uint16_t DemoUpstream::port() const { return acceptor_.local_endpoint().port(); }

void DemoUpstream::do_accept() {
  acceptor_.async_accept(ioc_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<EchoSession>(std::move(socket))->run();
    do_accept();
  });
}

std::string demo_config_yaml(std::uint16_t listen_port, std::uint16_t admin_port, std::uint16_t upstream_port) {
  return "listen: \"127.0.0.1:" + std::to_string(listen_port) + "\"\n" +
         "admin: \"127.0.0.1:" + std::to_string(admin_port) + "\"\n" +
         "threads: 1\n"
         "upstreams:\n"
         "  demo: { url: \"http://127.0.0.1:" + std::to_string(upstream_port) + "\" }\n"
         "routes:\n"
         "  - name: demo\n"
         "    match: { path_prefix: /, methods: [GET, HEAD, POST, PUT, DELETE] }\n"
         "    upstream: demo\n"
         "    auth: anonymous\n";
}

std::string demo_instructions(std::uint16_t listen_port, std::uint16_t admin_port) {
  const std::string base = "http://127.0.0.1:" + std::to_string(listen_port);
  const std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  return "\nclaimgate demo: a gateway on " + base + " in front of a built-in echo upstream.\n"
         "Try (the upstream echoes what it received, headers included):\n\n"
         "  curl -s " + base + "/hello\n"
         "  curl -s -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Real-IP: 6.6.6.6' " + base + "/spoof   # replaced by the gateway\n"
         "  curl -s -X POST --data-binary 'hello' " + base + "/upload\n"
         "  curl -s -i -X PATCH " + base + "/x                            # no route: 404 JSON\n"
         "  printf 'GET / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n' | nc 127.0.0.1 " +
         std::to_string(listen_port) + "   # smuggling shape: 400\n"
         "  curl -s " + admin + "/healthz ; curl -s " + admin + "/readyz\n\n"
         "Ctrl-C drains and stops.\n\n";
}

}  // namespace claimgate::tools
