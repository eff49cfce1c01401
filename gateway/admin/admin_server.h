#pragma once
// The admin listener: /healthz (process alive) and /readyz (ready to serve; 503 while draining).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "proxy/settings.h"

namespace claimgate::admin {

class AdminServer {
 public:
  struct Handlers {
    std::function<bool()> is_ready;         // /readyz
    std::function<std::string()> metrics;   // /metrics, Prometheus text format
  };

  // Handlers are called per request on the control thread.
  AdminServer(boost::asio::io_context& ioc, const proxy::Endpoint& endpoint, Handlers handlers);

  void start();
  void stop();
  std::uint16_t port() const;

 private:
  void do_accept();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<const Handlers> handlers_;
};

}  // namespace claimgate::admin
