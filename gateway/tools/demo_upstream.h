#pragma once
// The demo's stand-in application: answers every request with a JSON echo of what it received
// (method, target, the headers the gateway forwarded, body size), so the demo needs nothing else.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace claimgate::tools {

class DemoUpstream {
 public:
  explicit DemoUpstream(boost::asio::io_context& ioc);  // binds 127.0.0.1 on an ephemeral port
  void start();
  std::uint16_t port() const;

 private:
  void do_accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

inline constexpr std::string_view kDemoIssuer = "https://demo.claimgate.local";

// The embedded default config of `claimgate demo`: its upstream at `upstream_port`, one
// provider whose keys are the JWKS file at `jwks_path`.
std::string demo_config_yaml(std::uint16_t listen_port, std::uint16_t admin_port, std::uint16_t upstream_port,
                             const std::string& jwks_path);

struct DemoTokens {
  std::string editor;    // roles [editor], scopes [read:users, write:posts]
  std::string expired;   // the same, expired an hour ago
  std::string reader;    // scopes [read:users] only: lacks write:posts
};

// What the demo prints on start: ready-to-paste curl commands.
std::string demo_instructions(std::uint16_t listen_port, std::uint16_t admin_port, const DemoTokens& tokens);

}  // namespace claimgate::tools
