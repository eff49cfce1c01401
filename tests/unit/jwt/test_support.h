#pragma once
// Shared by the jwt and jwks tests: printable error names, the generated fixtures, and the
// signature mutation helper.
#include <doctest/doctest.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "jwt/base64url.h"
#include "jwt/error.h"
#include "jwt/key_error.h"

namespace claimgate::test {
// doctest prints an error enum by its stable name (found through ADL).
template <class E>
struct NamedEnumMaker {
  static doctest::String convert(E error) {
    const std::string_view name = to_string(error);
    return doctest::String(name.data(), static_cast<doctest::String::size_type>(name.size()));
  }
};
}  // namespace claimgate::test

namespace doctest {
template <>
struct StringMaker<claimgate::jwt::Error> : claimgate::test::NamedEnumMaker<claimgate::jwt::Error> {};
template <>
struct StringMaker<claimgate::jwt::KeyError> : claimgate::test::NamedEnumMaker<claimgate::jwt::KeyError> {};
}  // namespace doctest

namespace claimgate::test {

// Where make_vectors.py wrote the fixtures (ctest passes it in the environment).
inline std::string vectors_dir() {
  const char* dir = std::getenv("CLAIMGATE_JWT_VECTORS");
  REQUIRE_MESSAGE(dir != nullptr, "CLAIMGATE_JWT_VECTORS is not set: run through ctest, which generates the vectors");
  return dir;
}

inline std::string read_vector_file(std::string_view name) {
  const std::string path = vectors_dir() + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (true) {
    const auto at = text.find(separator);
    out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

// The value of a result the test requires to hold.
template <class T, class E>
T must(claimgate::Result<T, E> result) {
  REQUIRE(result.has_value());
  return std::move(*result);
}

inline std::string decoded(std::string_view base64url) {
  std::string out;
  REQUIRE_MESSAGE(claimgate::jwt::decode_base64url(base64url, out), "not base64url: " << std::string(base64url));
  return out;
}

struct TokenVector {
  std::string name;
  std::string expected;  // "ok" or a jwt::Error name
  std::string options;   // "-" or ';'-separated settings (see make_vectors.py)
  std::string token;
};

struct TokenVectors {
  std::int64_t now = 0;
  std::vector<TokenVector> vectors;

  const TokenVector& find(std::string_view name) const {
    for (const TokenVector& v : vectors) {
      if (v.name == name) return v;
    }
    FAIL("no vector " << std::string(name));
    throw std::logic_error("unreachable");
  }
};

inline std::int64_t to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  REQUIRE_MESSAGE((ec == std::errc() && end == text.data() + text.size()), "not an integer: " << std::string(text));
  return value;
}

// tokens.txt: "now <unix time>", then "<name> <expected> <options> <token>" where the token is
// the rest of the line (a few negative tokens contain a space).
inline TokenVectors load_token_vectors() {
  TokenVectors out;
  for (const std::string& line : split(read_vector_file("tokens.txt"), '\n')) {
    if (line.empty()) continue;
    if (line.starts_with("now ")) {
      out.now = to_int(std::string_view(line).substr(4));
      continue;
    }
    std::vector<std::string> head;
    std::string_view rest = line;
    for (int i = 0; i < 3; ++i) {
      const auto space = rest.find(' ');
      REQUIRE(space != std::string_view::npos);
      head.emplace_back(rest.substr(0, space));
      rest.remove_prefix(space + 1);
    }
    out.vectors.push_back({head[0], head[1], head[2], std::string(rest)});
  }
  REQUIRE(out.now > 0);
  return out;
}

// The token with every single bit of its signature flipped, then the signature cut to every
// shorter length, then one byte longer (jwt_verify_lib's mutation helper).
inline std::vector<std::string> signature_mutations(std::string_view token) {
  const auto dot = token.rfind('.');
  const std::string prefix(token.substr(0, dot + 1));
  const std::string signature = decoded(token.substr(dot + 1));
  std::vector<std::string> out;
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    std::string flipped = signature;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    out.push_back(prefix + claimgate::jwt::encode_base64url(flipped));
  }
  for (std::size_t size = 0; size < signature.size(); ++size) {
    out.push_back(prefix + claimgate::jwt::encode_base64url(std::string_view(signature).substr(0, size)));
  }
  out.push_back(prefix + claimgate::jwt::encode_base64url(signature + '\0'));
  return out;
}

}  // namespace claimgate::test
