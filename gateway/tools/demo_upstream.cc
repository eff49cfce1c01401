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

std::string demo_config_yaml(std::uint16_t listen_port, std::uint16_t admin_port, std::uint16_t upstream_port,
                             const std::string& jwks_path) {
  return "listen: \"127.0.0.1:" + std::to_string(listen_port) + "\"\n" +
         "admin: \"127.0.0.1:" + std::to_string(admin_port) + "\"\n" +
         "threads: 1\n"
         "providers:\n"
         "  - name: demo\n"
         "    issuer: \"" + std::string(kDemoIssuer) + "\"\n"
         "    audiences: [demo-app]\n"
         "    jwks_file: \"" + jwks_path + "\"\n"
         "    algorithms: [EdDSA]\n"
         "    leeway_s: 10\n"
         "upstreams:\n"
         "  demo: { url: \"http://127.0.0.1:" + std::to_string(upstream_port) + "\" }\n"
         "routes:\n"
         "  - name: public\n"
         "    match: { path_prefix: /public/ }\n"
         "    upstream: demo\n"
         "    auth: anonymous\n"
         "  - name: admin\n"
         "    match: { path_prefix: /admin }\n"
         "    upstream: demo\n"
         "    require: { roles_any: [admin] }\n"
         "  - name: write-posts\n"
         "    match: { path: /posts, methods: [POST] }\n"
         "    upstream: demo\n"
         "    require: { scopes_all: [\"write:posts\"] }\n"
         "  - name: any-user\n"
         "    match: { path_prefix: / }\n"
         "    upstream: demo\n"
         "    require: {}\n";
}

std::string demo_instructions(std::uint16_t listen_port, std::uint16_t admin_port, const DemoTokens& tokens) {
  const std::string base = "http://127.0.0.1:" + std::to_string(listen_port);
  const std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  return "\nclaimgate demo: a gateway on " + base + " in front of a built-in echo upstream that shows\n"
         "the headers it received. Tokens below are EdDSA, signed by a key made at start.\n\n"
         "  EDITOR=" + tokens.editor + "\n"
         "  EXPIRED=" + tokens.expired + "\n"
         "  READER=" + tokens.reader + "\n\n"
         "  curl -s " + base + "/public/hello                                   # anonymous route: 200\n"
         "  curl -s -i " + base + "/me                                          # no token: 401\n"
         "  curl -s -H \"Authorization: Bearer $EDITOR\" -H 'X-User-Id: spoofed' " + base + "/me   # 200, X-User-* from the token\n"
         "  curl -s -i -H \"Authorization: Bearer $EXPIRED\" " + base + "/me     # 401 invalid_token \"expired\"\n"
         "  curl -s -i -X POST -H \"Authorization: Bearer $EDITOR\" " + base + "/posts   # 200: has write:posts\n"
         "  curl -s -i -X POST -H \"Authorization: Bearer $READER\" " + base + "/posts   # 403 insufficient_scope\n"
         "  curl -s -i -H \"Authorization: Bearer $EDITOR\" " + base + "/admin/users      # 403: not an admin\n"
         "  curl -s -i --path-as-is -H \"Authorization: Bearer $EDITOR\" " + base + "/public/../admin/x   # still 403\n"
         "  curl -s " + admin + "/healthz ; curl -s " + admin + "/readyz\n\n"
         "Ctrl-C drains and stops.\n\n";
}

}  // namespace claimgate::tools
