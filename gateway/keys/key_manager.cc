#include "keys/key_manager.h"

namespace claimgate::keys {

KeyManager::KeyManager(boost::asio::io_context& control, const std::vector<ProviderSpec>& providers,
                       std::chrono::milliseconds startup_timeout, const KeyManager* previous)
    : startup_timeout_(startup_timeout) {
  for (const ProviderSpec& spec : providers) {
    std::shared_ptr<const KeySnapshot> seed;
    if (previous) {
      for (const auto& old : previous->providers_) {
        if (same_key_source(old->spec(), spec)) seed = old->snapshot();
      }
    }
    providers_.push_back(std::make_shared<ProviderKeys>(control, spec, std::move(seed)));
  }
}

void KeyManager::start() {
  started_at_ = std::chrono::steady_clock::now();
  for (auto& p : providers_) p->start();
}

void KeyManager::stop() {
  for (auto& p : providers_) p->stop();
}

bool KeyManager::is_ready() const {
  if (std::chrono::steady_clock::now() - started_at_ >= startup_timeout_) return true;
  for (const auto& p : providers_) {
    if (!p->first_attempt_done()) return false;
  }
  return true;
}

}  // namespace claimgate::keys
