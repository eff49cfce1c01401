#include "core/ascii.h"

#include <doctest/doctest.h>

#include <cctype>
#include <string_view>

namespace ascii = claimgate::ascii;

TEST_CASE("ascii classes agree with <cctype> in the C locale on every byte") {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CAPTURE(b);
    CHECK(ascii::is_digit(c) == (std::isdigit(b) != 0));
    CHECK(ascii::is_alnum(c) == (std::isalnum(b) != 0));
    CHECK(ascii::is_hex_digit(c) == (std::isxdigit(b) != 0));
  }
}

TEST_CASE("tchar is exactly RFC 9110's set") {
  const std::string_view extra = "!#$%&'*+-.^_`|~";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CAPTURE(b);
    CHECK(ascii::is_tchar(c) == ((std::isalnum(b) != 0) || extra.find(c) != std::string_view::npos));
  }
  CHECK_FALSE(ascii::is_tchar(':'));
  CHECK_FALSE(ascii::is_tchar(' '));
  CHECK_FALSE(ascii::is_tchar('\x80'));
}
