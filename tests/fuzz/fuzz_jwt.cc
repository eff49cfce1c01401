// jwt::peek_issuer and jwt::verify over a real key set (tests/fuzz/keys/jwks.json: EdDSA, ES256,
// RS256 and an HS256 secret), so that the seeds in corpus/jwt reach the signature and the
// claim checks. The whole input is the token.
#include <cstdio>
#include <cstdlib>

#include "fuzz_input.h"
#include "jwks/jwks.h"
#include "jwt/verify.h"

using namespace claimgate;

namespace {
constexpr std::int64_t kNow = 1700000000;  // make_corpus.py NOW

const jwt::KeySet& key_set() {
  static const jwt::KeySet keys = [] {
    auto parsed = jwks::parse_jwks(fuzz::read_fixture(CLAIMGATE_FUZZ_JWKS), jwks::KeySource::LocalFile);
    if (!parsed || parsed->size() != 4) std::abort();
    return *std::move(parsed);
  }();
  return keys;
}

std::vector<jwt::VerifyOptions> option_sets() {
  jwt::VerifyOptions strict;
  strict.allowed_algorithms = {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256, jwt::Algorithm::RS256,
                               jwt::Algorithm::PS256};
  strict.issuer = "https://issuer.fuzz.example";
  strict.audiences = {"fuzz-api", "other-api"};
  strict.max_lifetime_s = 7200;
  strict.required_claims = {"sub", "permissions.pma.role"};

  jwt::VerifyOptions lenient;
  lenient.allowed_algorithms = {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256, jwt::Algorithm::RS256};
  lenient.issuer = "https://issuer.fuzz.example";
  lenient.leeway_s = 86400;
  lenient.require_exp = false;
  lenient.max_token_bytes = 1 << 20;

  jwt::VerifyOptions hmac;
  hmac.allowed_algorithms = {jwt::Algorithm::HS256};
  hmac.issuer = "https://issuer.fuzz.example";
  hmac.audiences = {"fuzz-api"};
  return {strict, lenient, hmac};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<jwt::VerifyOptions> options = option_sets();
  const std::string token(fuzz::as_view(data, size));  // an exact-size heap copy, for ASan

  static const bool verbose = std::getenv("CLAIMGATE_FUZZ_VERBOSE") != nullptr;  // to check seeds
  auto issuer = jwt::peek_issuer(token);
  for (const auto& o : options) {
    auto verified = jwt::verify(token, key_set(), o, kNow);
    if (verbose) {
      const auto outcome = verified ? std::string_view("verified") : jwt::to_string(verified.error());
      std::fprintf(stderr, "fuzz_jwt: %.*s\n", static_cast<int>(outcome.size()), outcome.data());
    }
    if (verified) {
      // A verified token names the configured issuer, and peek_issuer agrees with it.
      if (verified->issuer != o.issuer || !issuer || *issuer != verified->issuer) std::abort();
      (void)verified->claims.find("sub");
    }
  }
  return 0;
}
