// Verifications per second of jwt::verify() per algorithm (rows jwt_verify/<alg>), next to the raw
// signature primitive on the same key object in the same run (raw_verify/<alg>), and the ratio
// jwt/raw (the target is >= 0.9 for EdDSA, RS256 and ES256). raw_verify is what a caller holding
// a prebuilt key does for one token: EVP_DigestVerifyInit with a fetched EVP_MD, then
// EVP_DigestVerify (OpenSSL), crypto_sign_verify_detached (libsodium), HMAC. For ES256 there is
// also raw_verify/ES256_ECDSA_do_verify: OpenSSL's low-level ECDSA on a prebuilt EC_KEY with the
// ECDSA_SIG built from raw r||s (no DER). Keys are generated at start-up; nothing is read from disk.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "jwt/base64url.h"
#include "jwt/key.h"
#include "jwt/key_set.h"
#include "jwt/openssl_ptr.h"
#include "jwt/verify.h"

namespace {

using claimgate::jwt::Algorithm;
using claimgate::jwt::Key;
using claimgate::jwt::KeySet;
using claimgate::jwt::OpensslPtr;

constexpr std::int64_t kNow = 1'700'000'000;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string claims_json() {
  return R"({"iss":"https://issuer.example","sub":"user-1","aud":"claimgate-api","iat":)" +
         std::to_string(kNow - 60) + R"(,"exp":)" + std::to_string(kNow + 600) +
         R"(,"permissions":{"pma":{"role":"admin"}},"scope":"read write","email":"user-1@example.com"})";
}

// One algorithm's fixture: a token, its key set, and what the raw primitive needs.
struct Fixture {
  Algorithm alg;
  std::string token;
  std::string signing_input;
  std::string raw_signature;  // what the primitive takes: DER for ECDSA, the JWS bytes otherwise
  KeySet keys;
  claimgate::jwt::VerifyOptions options;
};

std::string signing_input_for(Algorithm alg) {
  const std::string header = R"({"alg":")" + std::string(to_string(alg)) + R"(","kid":"bench","typ":"JWT"})";
  return claimgate::jwt::encode_base64url(header) + "." + claimgate::jwt::encode_base64url(claims_json());
}

Fixture make_fixture(Algorithm alg, Key key, std::string signing_input, std::string jws_signature,
                     std::string raw_signature) {
  Fixture f{alg, signing_input + "." + claimgate::jwt::encode_base64url(jws_signature), std::move(signing_input),
            std::move(raw_signature), KeySet({std::move(key)}), {}};
  f.options.allowed_algorithms = {alg};
  f.options.issuer = "https://issuer.example";
  f.options.audiences = {"claimgate-api"};
  require(claimgate::jwt::verify(f.token, f.keys, f.options, kNow).has_value(), "fixture does not verify");
  return f;
}

std::string bn_param(EVP_PKEY* pkey, const char* name) {
  BIGNUM* raw = nullptr;
  require(EVP_PKEY_get_bn_param(pkey, name, &raw) == 1, "EVP_PKEY_get_bn_param");
  OpensslPtr<BIGNUM> bn(raw);
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string digest_sign(EVP_PKEY* pkey, std::string_view input, bool pss) {
  OpensslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  require(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey) == 1, "EVP_DigestSignInit");
  if (pss) {
    require(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
            "PSS parameters");
  }
  std::size_t size = 0;
  require(EVP_DigestSign(ctx.get(), nullptr, &size, bytes(input), input.size()) == 1, "EVP_DigestSign size");
  std::string sig(size, '\0');
  require(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, bytes(input),
                         input.size()) == 1,
          "EVP_DigestSign");
  sig.resize(size);
  return sig;
}

Fixture rsa_fixture(Algorithm alg, EVP_PKEY* pkey) {
  const bool pss = alg == Algorithm::PS256;
  auto key = Key::rsa("bench", bn_param(pkey, OSSL_PKEY_PARAM_RSA_N), bn_param(pkey, OSSL_PKEY_PARAM_RSA_E),
                      std::nullopt);
  require(key.has_value(), "Key::rsa");
  std::string input = signing_input_for(alg);
  std::string sig = digest_sign(pkey, input, pss);
  return make_fixture(alg, std::move(*key), std::move(input), sig, sig);
}

Fixture es256_fixture() {
  OpensslPtr<EVP_PKEY> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  require(pkey != nullptr, "EC keygen");
  std::array<unsigned char, 65> point{};
  std::size_t point_size = 0;
  require(EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                          &point_size) == 1 &&
              point_size == 65 && point[0] == 0x04,
          "EC public point");
  const std::string_view xy(reinterpret_cast<const char*>(point.data()) + 1, 64);
  auto key = Key::ec("bench", claimgate::jwt::Curve::P256, xy.substr(0, 32), xy.substr(32), std::nullopt);
  require(key.has_value(), "Key::ec");
  std::string input = signing_input_for(Algorithm::ES256);
  const std::string der = digest_sign(pkey.get(), input, false);
  const unsigned char* p = bytes(der);
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  require(parsed != nullptr, "d2i_ECDSA_SIG");
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(parsed);
  return make_fixture(Algorithm::ES256, std::move(*key), std::move(input), raw, der);
}

Fixture eddsa_fixture() {
  require(sodium_init() >= 0, "sodium_init");
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_keypair(pk.data(), sk.data());
  auto key = Key::ed25519("bench", std::string_view(reinterpret_cast<const char*>(pk.data()), pk.size()),
                          std::nullopt);
  require(key.has_value(), "Key::ed25519");
  std::string input = signing_input_for(Algorithm::EdDSA);
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, bytes(input), input.size(), sk.data());
  return make_fixture(Algorithm::EdDSA, std::move(*key), std::move(input), sig, sig);
}

Fixture hs256_fixture() {
  std::string secret(32, '\0');
  randombytes_buf(secret.data(), secret.size());
  auto key = Key::hmac("bench", secret, std::nullopt);
  require(key.has_value(), "Key::hmac");
  std::string input = signing_input_for(Algorithm::HS256);
  std::string mac(32, '\0');
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytes(input), input.size(),
       reinterpret_cast<unsigned char*>(mac.data()), &mac_size);
  return make_fixture(Algorithm::HS256, std::move(*key), std::move(input), mac, mac);
}

void full_verify(benchmark::State& state, const Fixture* f) {
  for (auto _ : state) {
    auto result = claimgate::jwt::verify(f->token, f->keys, f->options, kNow);
    if (!result) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(result);
  }
}

const EVP_MD* fetched_sha256() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

bool raw_digest_verify(EVP_PKEY* pkey, const Fixture& f, bool pss) {
  OpensslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx.get(), &pctx, fetched_sha256(), nullptr, pkey) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  return ok && EVP_DigestVerify(ctx.get(), bytes(f.raw_signature), f.raw_signature.size(), bytes(f.signing_input),
                                f.signing_input.size()) == 1;
}

bool raw_primitive(const Fixture& f) {
  const Key& key = f.keys.keys().front();
  switch (f.alg) {
    case Algorithm::EdDSA:
      return crypto_sign_verify_detached(bytes(f.raw_signature), bytes(f.signing_input), f.signing_input.size(),
                                         bytes(key.raw_bytes())) == 0;
    case Algorithm::HS256: {
      std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
      unsigned int size = 0;
      HMAC(EVP_sha256(), key.raw_bytes().data(), static_cast<int>(key.raw_bytes().size()), bytes(f.signing_input),
           f.signing_input.size(), mac.data(), &size);
      return CRYPTO_memcmp(mac.data(), f.raw_signature.data(), size) == 0;
    }
    default: return raw_digest_verify(key.evp_pkey(), f, f.alg == Algorithm::PS256);
  }
}

// The low-level path the issue suggests for ES256: EC_KEY prebuilt once (outside the loop),
// ECDSA_SIG from raw r||s per token, SHA-256 through a reused EVP_MD_CTX, ECDSA_do_verify.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void raw_ecdsa_do_verify(benchmark::State& state, const Fixture* f) {
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(f->keys.keys().front().evp_pkey());
  OpensslPtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  std::string raw(64, '\0');
  {
    const unsigned char* p = bytes(f->raw_signature);
    ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(f->raw_signature.size()));
    BN_bn2binpad(ECDSA_SIG_get0_r(parsed), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(parsed), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(parsed);
  }
  for (auto _ : state) {
    unsigned char digest[32];
    unsigned int size = 0;
    EVP_DigestInit_ex2(md.get(), fetched_sha256(), nullptr);
    EVP_DigestUpdate(md.get(), f->signing_input.data(), f->signing_input.size());
    EVP_DigestFinal_ex(md.get(), digest, &size);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(bytes(raw), 32, nullptr), BN_bin2bn(bytes(raw) + 32, 32, nullptr));
    const bool ok = ECDSA_do_verify(digest, static_cast<int>(size), sig, const_cast<EC_KEY*>(ec)) == 1;
    ECDSA_SIG_free(sig);
    if (!ok) state.SkipWithError("ECDSA_do_verify failed");
    benchmark::DoNotOptimize(ok);
  }
}
#pragma GCC diagnostic pop

void raw_verify(benchmark::State& state, const Fixture* f) {
  for (auto _ : state) {
    const bool ok = raw_primitive(*f);
    if (!ok) state.SkipWithError("raw verify failed");
    benchmark::DoNotOptimize(ok);
  }
}

// Passes every run through to the console and keeps ops/s per benchmark (the median when
// repetitions are requested, e.g. --benchmark_repetitions=5) for the summary table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred || run.iterations == 0) continue;
      // CPU time: the ratio should not depend on how often a shared machine preempts us.
      ops_per_s_[run.run_name.function_name].push_back(static_cast<double>(run.iterations) /
                                                       run.cpu_accumulated_time);
    }
  }

  void print_ratios(const std::vector<std::string>& algs) {
    std::printf("\n%-8s %14s %14s %12s %10s %10s\n", "alg", "jwt ops/s", "raw ops/s", "jwt/raw", "jwt us", "raw us");
    for (const std::string& alg : algs) {
      const double full = median(ops_per_s_["jwt_verify/" + alg]);
      const double raw = median(ops_per_s_["raw_verify/" + alg]);
      std::printf("%-8s %14.0f %14.0f %12.3f %10.2f %10.2f\n", alg.c_str(), full, raw, raw > 0 ? full / raw : 0.0,
                  full > 0 ? 1e6 / full : 0.0, raw > 0 ? 1e6 / raw : 0.0);
    }
  }

 private:
  static double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::ranges::sort(values);
    return values[values.size() / 2];
  }

  std::map<std::string, std::vector<double>> ops_per_s_;
};

}  // namespace

int main(int argc, char** argv) {
  // Defaults for a machine shared with other work: repetitions run in random order, so that
  // raw and full see the same conditions; flags given on the command line come later and win.
  std::vector<char*> args = {argv[0]};
  std::string defaults[] = {"--benchmark_repetitions=9", "--benchmark_enable_random_interleaving=true",
                            "--benchmark_min_time=0.2"};
  for (std::string& flag : defaults) args.push_back(flag.data());
  args.insert(args.end(), argv + 1, argv + argc);
  int args_size = static_cast<int>(args.size());
  benchmark::Initialize(&args_size, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_size, args.data())) return 1;

  OpensslPtr<EVP_PKEY> rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  require(rsa != nullptr, "RSA keygen");
  const std::vector<Fixture> fixtures = {eddsa_fixture(), rsa_fixture(Algorithm::RS256, rsa.get()), es256_fixture(),
                                         rsa_fixture(Algorithm::PS256, rsa.get()), hs256_fixture()};
  std::vector<std::string> algs;
  for (const Fixture& f : fixtures) {
    const std::string alg(to_string(f.alg));
    algs.push_back(alg);
    // Raw then full for each algorithm, so that both see the same machine conditions.
    benchmark::RegisterBenchmark(("raw_verify/" + alg).c_str(), raw_verify, &f);
    benchmark::RegisterBenchmark(("jwt_verify/" + alg).c_str(), full_verify, &f);
    if (f.alg == Algorithm::ES256) {
      benchmark::RegisterBenchmark("raw_verify/ES256_ECDSA_do_verify", raw_ecdsa_do_verify, &f);
    }
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios(algs);
  benchmark::Shutdown();
  return 0;
}
