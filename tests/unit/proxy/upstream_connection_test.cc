// UpstreamConnection against an in-process TLS server on loopback: the handshake, resumption
// with the worker's session cache, and the half-close the WebSocket tunnel relies on.
#include "proxy/upstream_connection.h"

#include <doctest/doctest.h>

#include <boost/asio/ssl.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_certificates.h"
#include "tls/session_cache.h"
#include "tls/upstream_context.h"

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;
using claimgate::proxy::UpstreamConnection;

namespace {

// Runs `ioc` until it is out of work, failing the test if that takes more than 10 s.
void run_with_deadline(net::io_context& ioc) {
  ioc.run_for(std::chrono::seconds(10));
  CHECK(ioc.stopped());
}

// A TLS server on 127.0.0.1 that serves each accepted connection with `serve`.
struct TlsServer {
  using Stream = ssl::stream<tcp::socket>;
  TlsServer(net::io_context& ioc, const claimgate::testing::TestCertificate& cert)
      : acceptor(ioc, {net::ip::address_v4::loopback(), 0}), context(ssl::context::tls_server) {
    context.use_certificate_chain_file(cert.cert_file);
    context.use_private_key_file(cert.key_file, ssl::context::pem);
  }
  tcp::endpoint endpoint() const { return acceptor.local_endpoint(); }

  // Accepts `count` connections, one after another; `serve(stream, done)` calls done() when that
  // connection is finished.
  void accept(int count, std::function<void(Stream&, std::function<void()>)> serve) {
    if (count == 0) return acceptor.close();
    acceptor.async_accept([this, count, serve](error_code ec, tcp::socket socket) {
      REQUIRE_FALSE(ec);
      stream.emplace(std::move(socket), context);
      stream->async_handshake(ssl::stream_base::server, [this, count, serve](error_code hec) {
        handshake_error = hec;
        if (hec) return accept(count - 1, serve);
        serve(*stream, [this, count, serve] { accept(count - 1, serve); });
      });
    });
  }

  tcp::acceptor acceptor;
  ssl::context context;
  std::optional<Stream> stream;
  error_code handshake_error;
};

struct Client {
  Client(net::io_context& ioc, const claimgate::tls::UpstreamContext& context, claimgate::tls::SessionCache& cache)
      : connection(std::make_unique<UpstreamConnection>(ioc, open)), context_(context), cache_(cache) {}

  void connect(tcp::endpoint to, std::function<void(error_code)> then) {
    connection->socket.async_connect(to, [this, then](error_code ec) {
      REQUIRE_FALSE(ec);
      REQUIRE(connection->start_tls(context_, cache_));
      connection->tls->async_handshake(ssl::stream_base::client, then);
    });
  }
  // Reads until an error, which lands in `read_error`.
  void read_all() {
    connection->async_read_some(net::buffer(buffer), [this](error_code ec, std::size_t n) {
      if (ec) {
        read_error = ec;
        return;
      }
      got.append(buffer.data(), n);
      read_all();
    });
  }

  std::atomic<std::size_t> open{0};
  std::unique_ptr<UpstreamConnection> connection;
  std::array<char, 4096> buffer{};
  std::string got;
  error_code read_error;

 private:
  const claimgate::tls::UpstreamContext& context_;
  claimgate::tls::SessionCache& cache_;
};

claimgate::tls::UpstreamContextPtr context_for(const claimgate::testing::TestCertificate& cert, const std::string& name) {
  auto c = claimgate::tls::UpstreamContext::create({cert.cert_file, name, "", ""});
  REQUIRE(c.has_value());
  return *c;
}

}  // namespace

TEST_CASE("TLS half-close: our close_notify reaches the upstream, and its data still reaches us") {
  const auto cert = claimgate::testing::make_test_certificate("localhost", "DNS:localhost");
  net::io_context ioc;
  TlsServer server(ioc, cert);
  std::string server_got;
  error_code server_read_end;
  std::array<char, 256> server_buffer{};
  std::function<void(TlsServer::Stream&, std::function<void()>)> serve = [&](TlsServer::Stream& s, std::function<void()> done) {
    s.async_read_some(net::buffer(server_buffer), [&, done](error_code ec, std::size_t n) {
      if (!ec) {
        server_got.append(server_buffer.data(), n);
        return serve(s, done);
      }
      server_read_end = ec;  // the client's close_notify
      static const std::string bye = "bye, after your half-close";
      net::async_write(s, net::buffer(bye), [&, done](error_code wec, std::size_t) {
        REQUIRE_FALSE(wec);
        s.async_shutdown([&, done](error_code) {
          s.lowest_layer().close();
          done();
        });
      });
    });
  };
  server.accept(1, serve);

  const auto context = context_for(cert, "localhost");
  claimgate::tls::SessionCache cache;
  cache.bind(context);
  Client client(ioc, *context, cache);
  error_code shutdown_error;
  client.connect(server.endpoint(), [&](error_code ec) {
    REQUIRE_FALSE(ec);
    static const std::string hello = "hello";
    client.connection->async_write(net::buffer(hello), [&](error_code wec, std::size_t n) {
      REQUIRE_FALSE(wec);
      CHECK(n == 5);
      client.connection->shutdown_send(shutdown_error);
      client.read_all();
    });
  });
  run_with_deadline(ioc);
  CHECK_FALSE(shutdown_error);
  CHECK(server_got == "hello");
  CHECK(server_read_end == net::error::eof);
  CHECK(client.got == "bye, after your half-close");
  CHECK(client.read_error == net::error::eof);  // the server's close_notify
}

TEST_CASE("a new connection resumes the session the cache kept; a closed connection keeps it resumable") {
  const auto cert = claimgate::testing::make_test_certificate("localhost", "DNS:localhost,IP:127.0.0.1");
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    net::io_context ioc;
    TlsServer server(ioc, cert);
    SSL_CTX_set_max_proto_version(server.context.native_handle(), version);
    std::array<char, 64> sink{};
    std::function<void(TlsServer::Stream&, std::function<void()>)> serve = [&](TlsServer::Stream& s, std::function<void()> done) {
      static const std::string greeting = "x";
      net::async_write(s, net::buffer(greeting), [&, done](error_code, std::size_t) {
        s.async_read_some(net::buffer(sink), [&, done](error_code, std::size_t) {  // until the client goes
          s.lowest_layer().close();
          done();
        });
      });
    };
    server.accept(2, serve);

    const auto context = context_for(cert, "127.0.0.1");
    claimgate::tls::SessionCache cache;
    cache.bind(context);
    Client first(ioc, *context, cache);
    Client second(ioc, *context, cache);
    std::vector<int> reused;
    first.connect(server.endpoint(), [&](error_code ec) {
      REQUIRE_FALSE(ec);
      reused.push_back(SSL_session_reused(first.connection->tls->native_handle()));
      // TLS 1.3 tickets come after the handshake: the first read takes them in.
      first.connection->async_read_some(net::buffer(first.buffer), [&](error_code rec, std::size_t) {
        REQUIRE_FALSE(rec);
        CHECK(cache.has_session());
        first.connection.reset();
        second.connect(server.endpoint(), [&](error_code sec) {
          REQUIRE_FALSE(sec);
          reused.push_back(SSL_session_reused(second.connection->tls->native_handle()));
          second.connection.reset();
        });
      });
    });
    run_with_deadline(ioc);
    CHECK(reused == std::vector<int>{0, 1});
  }
}

TEST_CASE("the name verified is server_name, and a failed handshake says why") {
  const auto cert = claimgate::testing::make_test_certificate("localhost", "DNS:localhost");
  net::io_context ioc;
  TlsServer server(ioc, cert);
  server.accept(1, [](TlsServer::Stream&, std::function<void()> done) { done(); });
  const auto context = context_for(cert, "other.internal");
  claimgate::tls::SessionCache cache;
  cache.bind(context);
  Client client(ioc, *context, cache);
  error_code handshake;
  long verify_result = X509_V_OK;
  client.connect(server.endpoint(), [&](error_code ec) {
    handshake = ec;
    verify_result = SSL_get_verify_result(client.connection->tls->native_handle());
    client.connection.reset();
  });
  run_with_deadline(ioc);
  CHECK(handshake);
  CHECK(verify_result == X509_V_ERR_HOSTNAME_MISMATCH);
  CHECK_FALSE(cache.has_session());
}

TEST_CASE("a plain connection reads, writes and half-closes on the socket") {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, {net::ip::address_v4::loopback(), 0});
  std::optional<tcp::socket> peer;
  std::string peer_got;
  std::array<char, 64> peer_buffer{};
  std::function<void()> peer_read = [&] {
    peer->async_read_some(net::buffer(peer_buffer), [&](error_code ec, std::size_t n) {
      if (ec) {
        CHECK(ec == net::error::eof);  // our half-close
        static const std::string reply = "reply";
        net::async_write(*peer, net::buffer(reply), [&](error_code, std::size_t) { peer->close(); });
        return;
      }
      peer_got.append(peer_buffer.data(), n);
      peer_read();
    });
  };
  acceptor.async_accept([&](error_code ec, tcp::socket s) {
    REQUIRE_FALSE(ec);
    peer.emplace(std::move(s));
    peer_read();
  });
  std::atomic<std::size_t> open{0};
  UpstreamConnection c(ioc, open);
  CHECK(open == 1);
  std::array<char, 64> buffer{};
  std::string got;
  std::function<void()> read = [&] {
    c.async_read_some(net::buffer(buffer), [&](error_code ec, std::size_t n) {
      if (ec) return;
      got.append(buffer.data(), n);
      read();
    });
  };
  c.socket.async_connect(acceptor.local_endpoint(), [&](error_code ec) {
    REQUIRE_FALSE(ec);
    static const std::array<std::string, 2> parts{"ab", "cd"};
    const std::array<net::const_buffer, 2> gather{net::buffer(parts[0]), net::buffer(parts[1])};
    c.async_write(gather, [&](error_code wec, std::size_t n) {
      REQUIRE_FALSE(wec);
      CHECK(n == 4);
      error_code sec;
      c.shutdown_send(sec);
      CHECK_FALSE(sec);
      read();
    });
  });
  run_with_deadline(ioc);
  CHECK(peer_got == "abcd");
  CHECK(got == "reply");
}
