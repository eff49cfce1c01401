// jwks::parse_jwks, as a fetched set and as a local file (where "oct" keys are allowed).
#include "fuzz_input.h"
#include "jwks/jwks.h"

using namespace claimgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string json(fuzz::as_view(data, size));
  auto network = jwks::parse_jwks(json, jwks::KeySource::Network);
  auto local = jwks::parse_jwks(json, jwks::KeySource::LocalFile);
  // Both sources accept or refuse the document alike; the local set holds every key the network
  // one does, and perhaps oct keys besides; and a second parse gives the same keys (key parsing
  // once depended on OpenSSL's randomised RSA check: key_test.cc, "the same answer on every parse").
  if (network.has_value() != local.has_value()) std::abort();
  if (network && network->size() > local->size()) std::abort();
  auto again = jwks::parse_jwks(json, jwks::KeySource::Network);
  if (again.has_value() != network.has_value() || (again && again->size() != network->size())) std::abort();
  if (network) {
    for (const auto& key : network->keys()) (void)key;
  }
  return 0;
}
