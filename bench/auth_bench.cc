// The authenticator's request path (TokenVerifier::verify), per algorithm:
//   fresh_token/<alg>   a token never seen before, through a verified-token cache that holds
//                       200,000 other tokens (full): peek iss, verify, build the identity,
//                       insert with eviction. Every iteration uses a new token.
//   cached_token/<alg>  the same token again: a cache hit.
// Each row reports allocs_per_iter, counted by the malloc family defined in this binary
// (operator new goes through malloc); the cached-token target is 0.
// CLAIMGATE_BENCH_CACHE_ENTRIES overrides 200,000 (e.g. smaller under valgrind).
// Times are CPU time on a shared machine: compare rows of one run, or use callgrind.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>  // valgrind --tool=callgrind --collect-atstart=no counts only the timed loops
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include "auth/authenticator.h"
#include "jwt/base64url.h"
#include "keys/provider_keys.h"
#include "tools/token_signer.h"

// ---- allocation counter ------------------------------------------------------------------------
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* malloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(alignment, n);
  return *out ? 0 : 12;  // ENOMEM
}
}

using namespace claimgate;

namespace {

std::size_t from_env(const char* name, std::size_t fallback) {
  const char* env = std::getenv(name);
  return env ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) : fallback;
}

// Per run; each iteration uses a new token. CLAIMGATE_BENCH_FRESH_ITERATIONS overrides it (valgrind).
const std::int64_t kFreshIterations = static_cast<std::int64_t>(from_env("CLAIMGATE_BENCH_FRESH_ITERATIONS", 400));
constexpr int kRepetitions = 5;
const std::size_t kFreshTokens = static_cast<std::size_t>(kFreshIterations) * (kRepetitions + 1);  // one spare run

std::size_t cache_entries() { return from_env("CLAIMGATE_BENCH_CACHE_ENTRIES", 200'000); }

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string b64(std::string_view s) { return jwt::encode_base64url(s); }

std::string claims_json(const std::string& iss, const std::string& sub, std::int64_t now) {
  return R"({"iss":")" + iss + R"(","aud":"bench","sub":")" + sub +
         R"(","roles":["editor"],"scopes":["read:users","write:posts"],"tenant_id":"org_a","iat":)" +
         std::to_string(now) + R"(,"exp":)" + std::to_string(now + 3600) + "}";
}

std::string bn_b64(EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  require(EVP_PKEY_get_bn_param(pkey, name, &raw) == 1, "EVP_PKEY_get_bn_param");
  std::string out(static_cast<std::size_t>(BN_num_bytes(raw)), '\0');
  BN_bn2bin(raw, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(raw);
  return b64(out);
}

// One provider per algorithm, its tokens, and the file its keys come from.
struct Provider {
  jwt::Algorithm alg;
  std::string issuer;
  std::string key_file;
  std::shared_ptr<keys::ProviderKeys> keys;
  std::vector<std::string> tokens;
};

struct World {
  World() {
    now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string dir = "/tmp/claimgate-auth-bench-" + std::to_string(::getpid());
    std::vector<std::shared_ptr<keys::ProviderKeys>> all;
    const auto add = [&](jwt::Algorithm alg, keys::KeySourceKind kind, const std::string& key_text) {
      Provider p{alg, "https://" + std::string(jwt::to_string(alg)) + ".bench.idp",
                 dir + "-" + std::string(jwt::to_string(alg)) + ".key", nullptr, {}};
      std::ofstream(p.key_file) << key_text;
      keys::ProviderSpec spec;
      spec.name = std::string(jwt::to_string(alg));
      spec.source = kind;
      (kind == keys::KeySourceKind::JwksFile ? spec.jwks_file : spec.hmac_secret_file) = p.key_file;
      spec.verify.issuer = p.issuer;
      spec.verify.audiences = {"bench"};
      spec.verify.allowed_algorithms = {alg};
      p.keys = std::make_shared<keys::ProviderKeys>(control, spec);
      p.keys->start();  // a file source loads synchronously
      all.push_back(p.keys);
      providers.push_back(std::move(p));
      return &providers.back();
    };
    providers.reserve(4);

    // EdDSA and ES256: the gateway's own signer.
    for (const jwt::Algorithm alg : {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256}) {
      auto signer = tools::TokenSigner::generate(alg, "bench");
      require(signer.has_value(), "TokenSigner::generate");
      Provider* p = add(alg, keys::KeySourceKind::JwksFile, signer->public_jwks());
      const std::string header = b64(R"({"alg":")" + std::string(jwt::to_string(alg)) + R"(","typ":"JWT","kid":"bench"})");
      for (std::size_t i = 0; i < kFreshTokens; ++i) {
        const std::string input = header + "." + b64(claims_json(p->issuer, "user:" + std::to_string(i), now));
        auto sig = signer->sign_raw(input);
        require(sig.has_value(), "sign_raw");
        p->tokens.push_back(input + "." + b64(*sig));
      }
    }

    // RS256: a 2048-bit key signed with OpenSSL.
    {
      std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> rsa(
          EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)), EVP_PKEY_free);
      require(rsa != nullptr, "RSA keygen");
      const std::string jwks = R"({"keys":[{"kty":"RSA","kid":"bench","alg":"RS256","use":"sig","n":")" +
                               bn_b64(rsa.get(), OSSL_PKEY_PARAM_RSA_N) + R"(","e":")" +
                               bn_b64(rsa.get(), OSSL_PKEY_PARAM_RSA_E) + R"("}]})";
      Provider* p = add(jwt::Algorithm::RS256, keys::KeySourceKind::JwksFile, jwks);
      const std::string header = b64(R"({"alg":"RS256","typ":"JWT","kid":"bench"})");
      std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
      for (std::size_t i = 0; i < kFreshTokens; ++i) {
        const std::string input = header + "." + b64(claims_json(p->issuer, "user:" + std::to_string(i), now));
        std::string sig(256, '\0');
        std::size_t size = sig.size();
        require(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, rsa.get()) == 1 &&
                    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, bytes(input),
                                   input.size()) == 1,
                "RSA sign");
        sig.resize(size);
        p->tokens.push_back(input + "." + b64(sig));
      }
    }

    // HS256: the filler that keeps the cache full. 1.25x the capacity, so that every bucket of
    // the set-associative cache is full too.
    const std::string secret(48, 's');
    Provider* filler = add(jwt::Algorithm::HS256, keys::KeySourceKind::HmacSecretFile, secret);
    authenticator = std::make_shared<auth::Authenticator>(auth::AuthSettings{}, all);
    verifier = std::make_unique<auth::TokenVerifier>(authenticator, cache_entries());
    const std::string header = b64(R"({"alg":"HS256","typ":"JWT"})");
    const std::size_t fill = cache_entries() + cache_entries() / 4;
    for (std::size_t i = 0; i < fill; ++i) {
      const std::string input = header + "." + b64(claims_json(filler->issuer, "filler:" + std::to_string(i), now));
      unsigned char mac[32];
      unsigned int size = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytes(input), input.size(), mac, &size);
      const std::string token = input + "." + b64(std::string_view(reinterpret_cast<const char*>(mac), size));
      require(verifier->verify(token, now).status == auth::VerifyStatus::Verified, "filler token");
    }
    std::fprintf(stderr, "cache: %zu entries of %zu, %llu evictions while filling\n", fill - verifier->cache_stats().evictions,
                 cache_entries(), static_cast<unsigned long long>(verifier->cache_stats().evictions));
  }
  ~World() {
    for (Provider& p : providers) {
      p.keys->stop();
      std::remove(p.key_file.c_str());
    }
  }

  Provider& provider(jwt::Algorithm alg) {
    for (Provider& p : providers) {
      if (p.alg == alg) return p;
    }
    throw std::runtime_error("no provider");
  }

  boost::asio::io_context control;
  std::int64_t now = 0;
  std::vector<Provider> providers;
  std::shared_ptr<const auth::Authenticator> authenticator;
  std::unique_ptr<auth::TokenVerifier> verifier;
  std::size_t fresh_cursor[3] = {0, 0, 0};
};

World& world() {
  static World w;
  return w;
}

std::size_t cursor_index(jwt::Algorithm alg) {
  return alg == jwt::Algorithm::EdDSA ? 0 : alg == jwt::Algorithm::ES256 ? 1 : 2;
}

void report_allocations(benchmark::State& state, std::uint64_t before) {
  state.counters["allocs_per_iter"] = benchmark::Counter(
      static_cast<double>(g_allocations.load(std::memory_order_relaxed) - before), benchmark::Counter::kAvgIterations);
}

void fresh_token(benchmark::State& state, jwt::Algorithm alg) {
  World& w = world();
  Provider& p = w.provider(alg);
  std::size_t& cursor = w.fresh_cursor[cursor_index(alg)];
  if (cursor + static_cast<std::size_t>(state.max_iterations) > p.tokens.size()) {
    state.SkipWithError("fresh token pool exhausted");
    for (auto _ : state) {
    }
    return;
  }
  const std::uint64_t misses = w.verifier->cache_stats().misses;
  const std::uint64_t before = g_allocations.load(std::memory_order_relaxed);
  CALLGRIND_TOGGLE_COLLECT;
  for (auto _ : state) {
    const auth::VerifyOutcome v = w.verifier->verify(p.tokens[cursor++], w.now);
    if (v.status != auth::VerifyStatus::Verified) state.SkipWithError("token did not verify");
    benchmark::DoNotOptimize(v);
  }
  CALLGRIND_TOGGLE_COLLECT;
  report_allocations(state, before);
  if (w.verifier->cache_stats().misses - misses != static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("a fresh token hit the cache");
  }
}

void cached_token(benchmark::State& state, jwt::Algorithm alg) {
  World& w = world();
  const std::string& token = w.provider(alg).tokens.back();  // never one of the fresh ones in use
  if (w.verifier->verify(token, w.now).status != auth::VerifyStatus::Verified) state.SkipWithError("did not verify");
  const std::uint64_t hits = w.verifier->cache_stats().hits;
  const std::uint64_t before = g_allocations.load(std::memory_order_relaxed);
  CALLGRIND_TOGGLE_COLLECT;
  for (auto _ : state) {
    auth::VerifyOutcome v = w.verifier->verify(token, w.now);
    benchmark::DoNotOptimize(v);
  }
  CALLGRIND_TOGGLE_COLLECT;
  report_allocations(state, before);
  if (w.verifier->cache_stats().hits - hits != static_cast<std::uint64_t>(state.iterations())) {
    state.SkipWithError("the cached token missed");
  }
}

}  // namespace

BENCHMARK_CAPTURE(fresh_token, EdDSA, jwt::Algorithm::EdDSA)
    ->Name("fresh_token/EdDSA")->Iterations(kFreshIterations)->Repetitions(kRepetitions);
BENCHMARK_CAPTURE(fresh_token, ES256, jwt::Algorithm::ES256)
    ->Name("fresh_token/ES256")->Iterations(kFreshIterations)->Repetitions(kRepetitions);
BENCHMARK_CAPTURE(fresh_token, RS256, jwt::Algorithm::RS256)
    ->Name("fresh_token/RS256")->Iterations(kFreshIterations)->Repetitions(kRepetitions);
BENCHMARK_CAPTURE(cached_token, EdDSA, jwt::Algorithm::EdDSA)->Name("cached_token/EdDSA");
BENCHMARK_CAPTURE(cached_token, ES256, jwt::Algorithm::ES256)->Name("cached_token/ES256");
BENCHMARK_CAPTURE(cached_token, RS256, jwt::Algorithm::RS256)->Name("cached_token/RS256");

BENCHMARK_MAIN();
