#include <doctest/doctest.h>

#include <string>

#include "jwt/base64url.h"

using claimgate::jwt::decode_base64url;
using claimgate::jwt::encode_base64url;

namespace {
bool decodes(std::string_view text) {
  std::string out;
  return decode_base64url(text, out);
}
}  // namespace

TEST_CASE("base64url round-trips every length and byte value") {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    std::string out;
    const std::string text = encode_base64url(bytes);
    REQUIRE(decode_base64url(text, out));
    CHECK(out == bytes);
    CHECK(text.find_first_of("+/= \n") == std::string::npos);
    bytes.push_back(static_cast<char>(i * 37));
  }
}

TEST_CASE("base64url known answers (RFC 4648 section 10, url alphabet)") {
  CHECK(encode_base64url("") == "");
  CHECK(encode_base64url("f") == "Zg");
  CHECK(encode_base64url("fo") == "Zm8");
  CHECK(encode_base64url("foo") == "Zm9v");
  CHECK(encode_base64url("foob") == "Zm9vYg");
  CHECK(encode_base64url("\xfb\xff") == "-_8");
  std::string out;
  REQUIRE(decode_base64url("-_8", out));
  CHECK(out == "\xfb\xff");
}

TEST_CASE("base64url rejects everything but the strict form") {
  SUBCASE("padding") {
    CHECK_FALSE(decodes("Zg=="));
    CHECK_FALSE(decodes("Zm8="));
    CHECK_FALSE(decodes("Zm9v===="));
  }
  SUBCASE("standard alphabet") {
    CHECK_FALSE(decodes("+_8"));
    CHECK_FALSE(decodes("-/8"));
  }
  SUBCASE("whitespace") {
    CHECK_FALSE(decodes("Zm9v Yg"));
    CHECK_FALSE(decodes("Zm9v\nYg"));
    CHECK_FALSE(decodes("Zm9vYg\r\n"));
    CHECK_FALSE(decodes(" Zm9v"));
    CHECK_FALSE(decodes("Zm9\tv"));
  }
  SUBCASE("impossible length") { CHECK_FALSE(decodes("Zm9vY")); }
  SUBCASE("non-canonical trailing bits") {
    CHECK_FALSE(decodes("Zh"));   // "Zg" with a spare bit set
    CHECK_FALSE(decodes("Zm9"));  // "Zm8" with a spare bit set
    CHECK(decodes("Zm8"));
    CHECK_FALSE(decodes("Zm9vYh"));
  }
  SUBCASE("bytes outside ASCII and NUL") {
    CHECK_FALSE(decodes("Zm9\xc3\xa9"));
    CHECK_FALSE(decodes(std::string_view("Zm\0v", 4)));
  }
}
