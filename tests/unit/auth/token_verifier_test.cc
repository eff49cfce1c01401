// TokenVerifier and its verified-token cache, with an HS256 provider whose secret is a file:
// tokens are signed here with OpenSSL's HMAC, so the test needs no key generator.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

#include "auth/authenticator.h"
#include "auth/token_cache.h"
#include "jwt/base64url.h"

using namespace claimgate;
using namespace claimgate::auth;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr const char* kIssuer = "https://hs.idp";
const std::string kSecret(40, 'k');

std::string sign_hs256(const std::string& payload_json, const std::string& secret = kSecret) {
  const std::string input = jwt::encode_base64url(R"({"alg":"HS256","typ":"JWT"})") + "." +
                            jwt::encode_base64url(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." + jwt::encode_base64url(std::string_view(reinterpret_cast<const char*>(mac), size));
}

std::string token_for(const std::string& sub, std::int64_t exp = kNow + 600, const char* iss = kIssuer) {
  return sign_hs256(std::string(R"({"iss":")") + iss + R"(","sub":")" + sub + R"(","exp":)" + std::to_string(exp) +
                    R"(,"roles":["editor"]})");
}

struct Fixture {
  explicit Fixture(AuthSettings settings = {}) {
    secret_path = "/tmp/claimgate-token-verifier-test-" + std::to_string(::getpid()) + ".secret";
    std::ofstream(secret_path) << kSecret;
    keys::ProviderSpec spec;
    spec.name = "hs";
    spec.source = keys::KeySourceKind::HmacSecretFile;
    spec.hmac_secret_file = secret_path;
    spec.verify.issuer = kIssuer;
    spec.verify.allowed_algorithms = {jwt::Algorithm::HS256};
    spec.verify.leeway_s = 5;
    provider = std::make_shared<keys::ProviderKeys>(control, spec);
    provider->start();  // a file source loads synchronously
    authenticator = std::make_shared<Authenticator>(std::move(settings), std::vector{provider});
  }
  ~Fixture() {
    provider->stop();
    std::remove(secret_path.c_str());
  }
  boost::asio::io_context control;
  std::string secret_path;
  std::shared_ptr<keys::ProviderKeys> provider;
  std::shared_ptr<const Authenticator> authenticator;
};

TokenCache::Entry entry(std::int64_t valid_until) { return {nullptr, 1, valid_until}; }

}  // namespace

TEST_CASE("token cache finds exactly the token inserted") {
  TokenCache cache(64);
  CHECK(cache.capacity() == 64);
  CHECK(cache.find("a.b.c") == nullptr);
  CHECK_FALSE(cache.insert("a.b.c", entry(10)));
  REQUIRE(cache.find("a.b.c") != nullptr);
  CHECK(cache.find("a.b.c")->valid_until == 10);
  CHECK(cache.find("a.b.cd") == nullptr);
  CHECK(cache.find("a.b.") == nullptr);
  SUBCASE("insert of the same token replaces it in place") {
    CHECK_FALSE(cache.insert("a.b.c", entry(20)));
    CHECK(cache.size() == 1);
    CHECK(cache.find("a.b.c")->valid_until == 20);
  }
  SUBCASE("erase drops it") {
    cache.erase("a.b.c");
    CHECK(cache.find("a.b.c") == nullptr);
    CHECK(cache.size() == 0);
    cache.erase("a.b.c");
    CHECK(cache.size() == 0);
  }
}

TEST_CASE("token cache never holds more than its capacity and keeps recently used tokens") {
  TokenCache cache(16);
  CHECK(cache.capacity() == 16);
  cache.insert("hot", entry(1));
  std::size_t evictions = 0;
  for (int i = 0; i < 1000; ++i) {
    evictions += cache.insert("token-" + std::to_string(i), entry(i)) ? 1 : 0;
    CHECK(cache.find("hot") != nullptr);  // referenced on every round: CLOCK passes it over
    CHECK(cache.size() <= cache.capacity());
  }
  CHECK(evictions > 0);
  CHECK(cache.size() + evictions == 1001);
}

TEST_CASE("a zero-capacity token cache holds nothing") {
  TokenCache cache(0);
  CHECK(cache.capacity() == 0);
  CHECK_FALSE(cache.insert("a.b.c", entry(1)));
  CHECK(cache.find("a.b.c") == nullptr);
}

TEST_CASE("a cached token shares one identity and counts hits") {
  Fixture f;
  TokenVerifier verifier(f.authenticator, 100);
  const std::string token = token_for("alice");
  const VerifyOutcome first = verifier.verify(token, kNow);
  REQUIRE(first.status == VerifyStatus::Verified);
  CHECK(first.identity->token.subject == "alice");
  CHECK(first.identity->roles == std::vector<std::string>{"editor"});
  const VerifyOutcome second = verifier.verify(token, kNow);
  REQUIRE(second.status == VerifyStatus::Verified);
  CHECK(second.identity.get() == first.identity.get());
  CHECK(verifier.cache_stats().hits == 1);
  CHECK(verifier.cache_stats().misses == 1);
}

TEST_CASE("a cached token stops verifying at exp plus leeway") {
  Fixture f;
  TokenVerifier verifier(f.authenticator, 100);
  const std::string token = token_for("alice", kNow + 10);
  REQUIRE(verifier.verify(token, kNow).status == VerifyStatus::Verified);
  CHECK(verifier.verify(token, kNow + 14).status == VerifyStatus::Verified);
  const VerifyOutcome late = verifier.verify(token, kNow + 15);
  CHECK(late.status == VerifyStatus::Invalid);
  CHECK(late.reason == "expired");
}

TEST_CASE("invalid tokens are named and never cached") {
  Fixture f;
  TokenVerifier verifier(f.authenticator, 100);
  const VerifyOutcome unknown = verifier.verify(token_for("alice", kNow + 600, "https://evil.idp"), kNow);
  CHECK(unknown.status == VerifyStatus::Invalid);
  CHECK(unknown.reason == "unknown_issuer");
  const std::string forged = sign_hs256(R"({"iss":"https://hs.idp","sub":"mallory","exp":1700000600})",
                                        std::string(40, 'x'));
  for (int i = 0; i < 2; ++i) {
    const VerifyOutcome bad = verifier.verify(forged, kNow);
    CHECK(bad.status == VerifyStatus::Invalid);
    CHECK(bad.reason == "bad_signature");
  }
  CHECK(verifier.verify("not-a-token", kNow).reason == "malformed");
  CHECK(verifier.verify(sign_hs256(R"({"sub":"x"})"), kNow).reason == "missing_issuer");
  CHECK(verifier.cache_stats().hits == 0);
}

TEST_CASE("many distinct tokens through a small cache all verify") {
  Fixture f;
  TokenVerifier verifier(f.authenticator, 16);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200; ++i) {
      const VerifyOutcome v = verifier.verify(token_for("user-" + std::to_string(i)), kNow);
      REQUIRE(v.status == VerifyStatus::Verified);
      CHECK(v.identity->token.subject == "user-" + std::to_string(i));
    }
  }
  CHECK(verifier.cache_stats().evictions > 0);
}

TEST_CASE("the payload segment is kept only when a payload header is configured") {
  const std::string token = token_for("alice");
  const std::string payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  {
    Fixture f;
    TokenVerifier verifier(f.authenticator, 0);
    CHECK(verifier.verify(token, kNow).identity->payload_segment.empty());
  }
  AuthSettings settings;
  settings.payload_header = "X-User-Claims";
  Fixture f(settings);
  TokenVerifier verifier(f.authenticator, 0);
  CHECK(verifier.verify(token, kNow).identity->payload_segment == payload);
}

TEST_CASE("tokens that end alike are still told apart") {
  TokenCache cache(64);
  const std::string tail(64, 'z');
  cache.insert("a" + tail, entry(1));
  cache.insert("b" + tail, entry(2));
  REQUIRE(cache.find("a" + tail) != nullptr);
  REQUIRE(cache.find("b" + tail) != nullptr);
  CHECK(cache.find("a" + tail)->valid_until == 1);
  CHECK(cache.find("b" + tail)->valid_until == 2);
  CHECK(cache.find("c" + tail) == nullptr);
}
