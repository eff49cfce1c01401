#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "jwks/file_loader.h"
#include "jwks/jwks.h"
#include "jwt/verify.h"
#include "test_support.h"

template <>
struct doctest::StringMaker<claimgate::jwks::Error> : claimgate::test::NamedEnumMaker<claimgate::jwks::Error> {};

using claimgate::jwks::Error;
using claimgate::jwks::KeySource;
using claimgate::jwks::load_hmac_secret_file;
using claimgate::jwks::load_jwks_file;
using claimgate::jwks::parse_jwks;
using claimgate::jwt::Algorithm;
using claimgate::jwt::KeySet;
using claimgate::jwt::KeyType;
using claimgate::test::must;
using claimgate::test::read_vector_file;
using claimgate::test::vectors_dir;

namespace {

std::set<std::string> kids_of(const KeySet& keys) {
  std::set<std::string> out;
  for (const auto& key : keys.keys()) out.insert(key.kid().value_or("(none)"));
  return out;
}

claimgate::jwt::VerifyOptions options_for(std::string_view token_name) {
  claimgate::jwt::VerifyOptions options;
  options.issuer = "https://issuer.example";
  options.audiences = {"claimgate-api"};
  options.allowed_algorithms = {*claimgate::jwt::parse_algorithm(token_name.substr(token_name.find('-') + 1))};
  return options;
}

// Captures what `run` writes to stderr (where claimgate::log writes).
template <class Run>
std::string captured_stderr(Run run) {
  std::FILE* sink = std::tmpfile();
  REQUIRE(sink != nullptr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(sink), STDERR_FILENO);
  run();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text;
  std::rewind(sink);
  for (int c; (c = std::fgetc(sink)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(sink);
  return text;
}

// A scratch file under the system temp directory, removed when done.
class TempFile {
 public:
  explicit TempFile(std::string_view contents)
      : path_(std::filesystem::temp_directory_path() /
              ("claimgate-jwks-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("generated JWKS: every key parses and verifies the tokens minted for it") {
  const KeySet network = must(parse_jwks(read_vector_file("jwks_network.json"), KeySource::Network));
  CHECK(kids_of(network) == std::set<std::string>{"rsa-1", "rsa-rs256", "ed-1", "ec-p256", "ec-p384", "ec-p521"});
  const KeySet local = must(parse_jwks(read_vector_file("jwks_local.json"), KeySource::LocalFile));
  CHECK(local.size() == network.size() + 1);

  const auto vectors = claimgate::test::load_token_vectors();
  for (const char* name : {"pyjwt-RS256", "jwcrypto-PS384", "pyjwt-ES256", "jwcrypto-ES384", "pyjwt-ES512",
                           "jwcrypto-EdDSA", "pyjwt-HS256", "jwcrypto-HS512"}) {
    CAPTURE(name);
    const auto& v = vectors.find(name);
    const auto token = claimgate::jwt::verify(v.token, local, options_for(name), vectors.now);
    CHECK(token.has_value());
  }
  // Through the fetched set the HMAC key does not exist.
  const auto& hs = vectors.find("pyjwt-HS256");
  CHECK(claimgate::jwt::verify(hs.token, network, options_for("pyjwt-HS256"), vectors.now).error() ==
        claimgate::jwt::Error::UnknownKid);
}

TEST_CASE("a JWKS keeps its good keys and skips each malformed one with a logged reason") {
  const std::string json = read_vector_file("jwks_mixed.json");
  claimgate::Result<KeySet, Error> parsed = KeySet();
  const std::string log = captured_stderr([&] { parsed = parse_jwks(json, KeySource::Network); });
  const KeySet keys = must(std::move(parsed));
  CHECK(kids_of(keys) ==
        std::set<std::string>{"keep-rsa", "keep-rsa-without-use", "keep-rsa-key-ops", "keep-ec", "keep-ed"});
  for (const char* expected : {"\"kid\":\"skip-rsa-1024\",\"reason\":\"rsa_modulus_too_small\"",
                               "\"kid\":\"skip-rsa-leading-zero\",\"reason\":\"non_minimal_integer\"",
                               "\"kid\":\"skip-rsa-no-n\",\"reason\":\"missing_member\"",
                               "\"kid\":\"skip-rsa-n-number\",\"reason\":\"bad_member\"",
                               "\"kid\":\"skip-rsa-n-padded\",\"reason\":\"bad_member\"",
                               "\"kid\":\"skip-rsa-alg-es256\",\"reason\":\"alg_not_for_key\"",
                               "\"kid\":\"skip-rsa-alg-none\",\"reason\":\"unsupported_alg\"",
                               "\"kid\":\"skip-off-curve\",\"reason\":\"point_not_on_curve\"",
                               "\"kid\":\"skip-short-x\",\"reason\":\"bad_coordinate_length\"",
                               "\"kid\":\"skip-ec-secp256k1\",\"reason\":\"unsupported_curve\"",
                               "\"kid\":\"skip-ed448\",\"reason\":\"unsupported_curve\"",
                               "\"kid\":\"skip-ed-short\",\"reason\":\"bad_ed25519_key\"",
                               "\"kid\":\"skip-oct-from-network\",\"reason\":\"oct_from_network\"",
                               "\"kid\":\"skip-kty-unknown\",\"reason\":\"unsupported_kty\"",
                               "\"kid\":\"skip-no-kty\",\"reason\":\"missing_member\"",
                               "\"kid\":\"\",\"reason\":\"not_an_object\""}) {
    CAPTURE(expected);
    CHECK(log.find(expected) != std::string::npos);
  }
  // Keys not meant for signatures are ignored, not reported as malformed.
  CHECK(log.find("skip-use-enc") == std::string::npos);
  CHECK(log.find("skip-key-ops-sign") == std::string::npos);

  claimgate::Result<KeySet, Error> parsed_local = KeySet();
  captured_stderr([&] { parsed_local = parse_jwks(json, KeySource::LocalFile); });
  const KeySet local = must(std::move(parsed_local));
  CHECK(kids_of(local).contains("skip-oct-from-network"));
  CHECK(local.size() == keys.size() + 1);
}

TEST_CASE("RFC 7517 A.1: the encryption key is ignored, the RS256 key kept") {
  const KeySet keys = must(parse_jwks(R"({"keys":[
    {"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
     "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"},
    {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
     "e":"AQAB","alg":"RS256","kid":"2011-04-29"}]})",
                                  KeySource::Network));
  REQUIRE(keys.size() == 1);
  const auto& key = keys.keys().front();
  CHECK(key.kid() == "2011-04-29");
  CHECK(key.type() == KeyType::Rsa);
  CHECK(key.declared_alg() == Algorithm::RS256);
  CHECK(key.rsa_signature_bytes() == 256);
}

TEST_CASE("whole-set errors") {
  CHECK(parse_jwks("", KeySource::Network).error() == Error::NotJson);
  CHECK(parse_jwks("{\"keys\":[", KeySource::Network).error() == Error::NotJson);
  CHECK(parse_jwks("<html>", KeySource::Network).error() == Error::NotJson);
  CHECK(parse_jwks("[]", KeySource::Network).error() == Error::NoKeysArray);
  CHECK(parse_jwks("{}", KeySource::Network).error() == Error::NoKeysArray);
  CHECK(parse_jwks(R"({"keys":{}})", KeySource::Network).error() == Error::NoKeysArray);
  CHECK(parse_jwks(R"({"keys":[],"keys":[]})", KeySource::Network).error() == Error::DuplicateMember);
  CHECK(must(parse_jwks(R"({"keys":[]})", KeySource::Network)).empty());
}

TEST_CASE("a key with a repeated member is skipped") {
  const std::string x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
  const std::string json = R"({"keys":[{"kty":"OKP","crv":"Ed25519","kid":"dup","x":")" + x + R"(","x":")" + x +
                           R"("},{"kty":"OKP","crv":"Ed25519","kid":"good","x":")" + x + R"("}]})";
  claimgate::Result<KeySet, Error> parsed = KeySet();
  const std::string log = captured_stderr([&] { parsed = parse_jwks(json, KeySource::Network); });
  CHECK(kids_of(must(std::move(parsed))) == std::set<std::string>{"good"});
  CHECK(log.find("\"kid\":\"dup\",\"reason\":\"duplicate_member\"") != std::string::npos);
}

TEST_CASE("load_jwks_file reads local keys, oct included") {
  const KeySet keys = must(load_jwks_file(vectors_dir() + "/jwks_local.json"));
  CHECK(kids_of(keys).contains("hmac-1"));
  CHECK(load_jwks_file(vectors_dir() + "/no-such-file.json").error() == Error::FileUnreadable);
  const TempFile big(std::string(claimgate::jwks::kMaxJwksFileBytes + 1, ' '));
  CHECK(load_jwks_file(big.path()).error() == Error::FileTooLarge);
  const TempFile not_json("keys");
  CHECK(load_jwks_file(not_json.path()).error() == Error::NotJson);
}

TEST_CASE("load_hmac_secret_file: the bytes less one trailing newline") {
  const KeySet keys = must(load_hmac_secret_file(vectors_dir() + "/hmac_secret.txt"));
  REQUIRE(keys.size() == 1);
  CHECK(keys.keys().front().type() == KeyType::Oct);
  CHECK(keys.keys().front().raw_bytes().size() == 40);

  std::string token = read_vector_file("hmac_secret_token.txt");
  token.pop_back();
  claimgate::jwt::VerifyOptions options = options_for("x-HS256");
  const auto vectors = claimgate::test::load_token_vectors();
  CHECK(claimgate::jwt::verify(token, keys, options, vectors.now).has_value());

  const TempFile crlf(std::string(32, 'k') + "\r\n");
  CHECK(must(load_hmac_secret_file(crlf.path())).keys().front().raw_bytes() == std::string(32, 'k'));
  const TempFile short_secret(std::string(31, 'k') + "\n");
  CHECK(load_hmac_secret_file(short_secret.path()).error() == Error::SecretTooShort);
  CHECK(load_hmac_secret_file(vectors_dir() + "/no-such-secret").error() == Error::FileUnreadable);
}

TEST_CASE("every jwks::Error has a distinct name and a description") {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Error::NotForSignatures); ++i) {
    const auto error = static_cast<Error>(i);
    names.insert(claimgate::jwks::to_string(error));
    CHECK(claimgate::jwks::describe(error).ends_with('.'));
  }
  CHECK(names.size() == static_cast<std::size_t>(Error::NotForSignatures) + 1);
}
