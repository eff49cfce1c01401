// `claimgate keygen` then `claimgate mint`, as the CLI runs them, verified by jwt::verify with
// the JWKS keygen wrote. (tests/integration/test_keys.py checks the same tokens with jwcrypto.)
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "jwks/jwks.h"
#include "jwt/verify.h"
#include "tools/keygen.h"
#include "tools/mint.h"

using namespace claimgate;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "claimgate-tools-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

// Runs `fn` with std::cout captured; returns {exit code, output}.
template <class Fn>
std::pair<int, std::string> capture_stdout(Fn fn) {
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  const int code = fn();
  std::cout.rdbuf(old);
  return {code, out.str()};
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode_of(const fs::path& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("keygen writes a 0600 private JWK and a public JWKS; mint signs with it") {
  for (const std::string alg : {"EdDSA", "ES256"}) {
    CAPTURE(alg);
    TempDir dir;
    const fs::path out = dir.path / "keys";
    auto [code, printed] = capture_stdout(
        [&] { return tools::run_keygen({"--alg", alg, "--kid", "test-kid", "--out-dir", out.string()}); });
    REQUIRE(code == 0);
    CHECK(printed.find((out / "private.jwk").string()) != std::string::npos);
    CHECK(printed.find((out / "jwks.json").string()) != std::string::npos);
    CHECK(mode_of(out / "private.jwk") == 0600);
    CHECK(mode_of(out / "jwks.json") == 0644);

    const std::string jwks_text = read_file(out / "jwks.json");
    CHECK(jwks_text.find("\"kid\":\"test-kid\"") != std::string::npos);
    CHECK(jwks_text.find("\"alg\":\"" + alg + "\"") != std::string::npos);
    CHECK(jwks_text.find("\"use\":\"sig\"") != std::string::npos);
    CHECK(jwks_text.find("\"d\"") == std::string::npos);
    auto keys = jwks::parse_jwks(jwks_text, jwks::KeySource::Network);
    REQUIRE(keys.has_value());
    REQUIRE(keys->size() == 1);

    SUBCASE("an existing key is not overwritten without --force") {
      const std::string before = read_file(out / "private.jwk");
      CHECK(capture_stdout([&] { return tools::run_keygen({"--out-dir", out.string()}); }).first == 1);
      CHECK(read_file(out / "private.jwk") == before);
      CHECK(capture_stdout([&] { return tools::run_keygen({"--out-dir", out.string(), "--force"}); }).first == 0);
      CHECK(read_file(out / "private.jwk") != before);
      CHECK(mode_of(out / "private.jwk") == 0600);
    }

    SUBCASE("mint") {
      const std::string key = (out / "private.jwk").string();
      auto [mint_code, token_line] = capture_stdout([&] {
        return tools::run_mint({"--key", key, "--iss", "http://issuer", "--sub", "user:alice123", "--aud", "your-app",
                                "--ttl-s", "120", "--roles", "editor,viewer", "--scope", "read:users write:posts",
                                "--claim", "tenant_id=t1", "--claim-json", R"(permissions={"pma":{"role":"admin"}})"});
      });
      REQUIRE(mint_code == 0);
      REQUIRE(!token_line.empty());
      CHECK(token_line.back() == '\n');
      const std::string token = token_line.substr(0, token_line.size() - 1);

      jwt::VerifyOptions options;
      options.allowed_algorithms = {*jwt::parse_algorithm(alg)};
      options.issuer = "http://issuer";
      options.audiences = {"your-app"};
      auto verified = jwt::verify(token, *keys, options, now_s());
      REQUIRE_MESSAGE(verified.has_value(), jwt::to_string(verified.error()));
      CHECK(verified->kid == "test-kid");
      CHECK(verified->subject == "user:alice123");
      CHECK(verified->claims.strings_at("roles") == std::vector<std::string>{"editor", "viewer"});
      CHECK(verified->claims.strings_at("scopes") == std::vector<std::string>{"read:users", "write:posts"});
      CHECK(*verified->claims.string_at("tenant_id") == "t1");
      CHECK(*verified->claims.string_at("permissions.pma.role") == "admin");
      REQUIRE(verified->expires_at.has_value());
      CHECK(*verified->expires_at - now_s() <= 120);
      CHECK(*verified->expires_at - now_s() >= 110);
    }
  }
}

TEST_CASE("keygen usage errors") {
  CHECK(capture_stdout([] { return tools::run_keygen({}); }).first == 2);
  CHECK(capture_stdout([] { return tools::run_keygen({"--alg", "RS256", "--out-dir", "/tmp/x"}); }).first == 2);
  CHECK(capture_stdout([] { return tools::run_keygen({"--alg", "none", "--out-dir", "/tmp/x"}); }).first == 2);
  CHECK(capture_stdout([] { return tools::run_keygen({"--bogus", "1"}); }).first == 2);
  CHECK(capture_stdout([] { return tools::run_keygen({"--out-dir"}); }).first == 2);
  CHECK(capture_stdout([] { return tools::run_keygen({"--help"}); }).first == 0);
}

TEST_CASE("mint argument parsing and claims") {
  SUBCASE("required options") {
    CHECK_FALSE(tools::parse_mint_args({"--iss", "i"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--ttl-s", "12x"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--claim", "novalue"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--claim", "=v"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--claim-json", "a={"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--claim-json", "a=1,\"b\":2"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--claim-json", R"(a={"x":1,"x":2})"}).has_value());
    CHECK_FALSE(tools::parse_mint_args({"--key", "k", "--iss", "i", "--what", "x"}).has_value());
  }
  SUBCASE("claim order, repeated --aud, last value wins in place") {
    auto options = tools::parse_mint_args({"--key", "k", "--iss", "i", "--aud", "a1", "--aud", "a2", "--ttl-s", "-5",
                                           "--claim", "x=1", "--claim-json", "y=[1,\"two\",null]", "--claim-json",
                                           "exp=42", "--claim", "x=2"});
    REQUIRE(options.has_value());
    const auto claims = tools::mint_claims(*options, 1000);
    std::vector<std::string> names;
    for (const auto& [n, v] : claims) names.push_back(n);
    CHECK(names == std::vector<std::string>{"iss", "aud", "iat", "exp", "x", "y"});
    CHECK(claims[1].second == ClaimValue(ClaimValue::Array{"a1", "a2"}));
    CHECK(claims[2].second == ClaimValue(1000));
    CHECK(claims[3].second == ClaimValue(42));  // --claim-json exp replaced now + ttl
    CHECK(claims[4].second == ClaimValue("2"));
    CHECK(claims[5].second == ClaimValue(ClaimValue::Array{1, "two", nullptr}));
  }
  SUBCASE("defaults: ttl 3600, no sub, no aud") {
    auto options = tools::parse_mint_args({"--key", "k", "--iss", "i"});
    REQUIRE(options.has_value());
    const auto claims = tools::mint_claims(*options, 1000);
    REQUIRE(claims.size() == 3);
    CHECK(claims[2].second == ClaimValue(4600));
  }
  SUBCASE("run_mint failures") {
    CHECK(capture_stdout([] { return tools::run_mint({"--iss", "i"}); }).first == 2);
    CHECK(capture_stdout([] { return tools::run_mint({"--key", "/nonexistent/private.jwk", "--iss", "i"}); }).first ==
          1);
  }
}
