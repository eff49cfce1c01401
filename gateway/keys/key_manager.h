#pragma once
// Every provider's keys, started together on the control context, plus the readiness rule:
// ready once each provider has keys or has finished its first attempt, or once the startup
// timeout has passed (an IdP outage at boot must not keep the pod out of service).
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <vector>

#include "keys/provider_keys.h"

namespace claimgate::keys {

class KeyManager {
 public:
  // `previous`: the manager this one replaces on reload; providers with the same key source keep
  // their current keys.
  KeyManager(boost::asio::io_context& control, const std::vector<ProviderSpec>& providers,
             std::chrono::milliseconds startup_timeout, const KeyManager* previous = nullptr);

  void start();
  void stop();
  bool is_ready() const;

  const std::vector<std::shared_ptr<ProviderKeys>>& providers() const { return providers_; }

 private:
  std::vector<std::shared_ptr<ProviderKeys>> providers_;
  std::chrono::milliseconds startup_timeout_;
  std::chrono::steady_clock::time_point started_at_{};
};

}  // namespace claimgate::keys
