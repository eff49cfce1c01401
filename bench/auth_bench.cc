// The verified-token cache: a cache hit next to full verification of 1,000 distinct tokens, for
// EdDSA and ES256, through the same TokenVerifier the request path uses.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "keys/provider_keys.h"
#include "tools/token_signer.h"

using namespace claimgate;

namespace {

constexpr const char* kIssuer = "https://bench.idp";
constexpr int kDistinctTokens = 1000;

struct Fixture {
  explicit Fixture(jwt::Algorithm alg) {
    auto made = tools::TokenSigner::generate(alg, "bench");
    if (!made) throw std::runtime_error(made.error());
    signer = std::make_unique<tools::TokenSigner>(std::move(*made));
    jwks_path = "/tmp/claimgate-auth-bench-" + std::string(jwt::to_string(alg)) + ".json";
    std::ofstream(jwks_path) << signer->public_jwks();

    keys::ProviderSpec spec;
    spec.name = "bench";
    spec.source = keys::KeySourceKind::JwksFile;
    spec.jwks_file = jwks_path;
    spec.verify.issuer = kIssuer;
    spec.verify.audiences = {"bench"};
    spec.verify.allowed_algorithms = {alg};
    provider = std::make_shared<keys::ProviderKeys>(control, spec);
    provider->start();  // a file source loads synchronously
    authenticator = std::make_shared<auth::Authenticator>(auth::AuthSettings{}, std::vector{provider});

    now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (int i = 0; i < kDistinctTokens; ++i) {
      auto token = signer->sign({{"iss", kIssuer},
                                 {"aud", "bench"},
                                 {"sub", "user:" + std::to_string(i)},
                                 {"roles", ClaimValue::Array{"editor"}},
                                 {"scopes", ClaimValue::Array{"read:users", "write:posts"}},
                                 {"iat", now},
                                 {"exp", now + 3600}});
      tokens.push_back(*token);
    }
  }
  ~Fixture() {
    provider->stop();
    std::remove(jwks_path.c_str());
  }

  boost::asio::io_context control;
  std::unique_ptr<tools::TokenSigner> signer;
  std::string jwks_path;
  std::shared_ptr<keys::ProviderKeys> provider;
  std::shared_ptr<const auth::Authenticator> authenticator;
  std::vector<std::string> tokens;
  std::int64_t now = 0;
};

Fixture& fixture(jwt::Algorithm alg) {
  static Fixture eddsa(jwt::Algorithm::EdDSA);
  static Fixture es256(jwt::Algorithm::ES256);
  return alg == jwt::Algorithm::EdDSA ? eddsa : es256;
}

void check(benchmark::State& state, const auth::VerifyOutcome& outcome) {
  if (outcome.status != auth::VerifyStatus::Verified) state.SkipWithError("token did not verify");
}

void BM_CachedToken(benchmark::State& state, jwt::Algorithm alg) {
  Fixture& f = fixture(alg);
  auth::TokenVerifier verifier(f.authenticator, 10000);
  check(state, verifier.verify(f.tokens[0], f.now));
  for (auto _ : state) benchmark::DoNotOptimize(verifier.verify(f.tokens[0], f.now));
}

void BM_DistinctTokensNoCache(benchmark::State& state, jwt::Algorithm alg) {
  Fixture& f = fixture(alg);
  auth::TokenVerifier verifier(f.authenticator, 0);
  std::size_t i = 0;
  check(state, verifier.verify(f.tokens[0], f.now));
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier.verify(f.tokens[i], f.now));
    i = (i + 1) % f.tokens.size();
  }
}

void BM_DistinctTokensCached(benchmark::State& state, jwt::Algorithm alg) {
  Fixture& f = fixture(alg);
  auth::TokenVerifier verifier(f.authenticator, 10000);
  for (const auto& t : f.tokens) check(state, verifier.verify(t, f.now));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(verifier.verify(f.tokens[i], f.now));
    i = (i + 1) % f.tokens.size();
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_CachedToken, EdDSA, jwt::Algorithm::EdDSA);
BENCHMARK_CAPTURE(BM_CachedToken, ES256, jwt::Algorithm::ES256);
BENCHMARK_CAPTURE(BM_DistinctTokensCached, EdDSA_1000, jwt::Algorithm::EdDSA);
BENCHMARK_CAPTURE(BM_DistinctTokensNoCache, EdDSA_1000, jwt::Algorithm::EdDSA);
BENCHMARK_CAPTURE(BM_DistinctTokensNoCache, ES256_1000, jwt::Algorithm::ES256);

BENCHMARK_MAIN();
