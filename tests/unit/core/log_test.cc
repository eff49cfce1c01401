#include <doctest/doctest.h>

#include "core/log.h"

TEST_CASE("JSON escaping leaves no raw control bytes") {
  std::string out;
  claimgate::log::append_json_escaped(out, std::string_view("a\"b\\c\n\x01\x7f", 8));
  CHECK(out == "a\\\"b\\\\c\\n\\u0001\\u007f");
}

TEST_CASE("levels parse and filter") {
  claimgate::log::Level level{};
  CHECK(claimgate::log::parse_level("warn", level));
  CHECK(level == claimgate::log::Level::Warn);
  CHECK_FALSE(claimgate::log::parse_level("verbose", level));
  claimgate::log::set_level(claimgate::log::Level::Warn);
  CHECK_FALSE(claimgate::log::enabled(claimgate::log::Level::Info));
  CHECK(claimgate::log::enabled(claimgate::log::Level::Error));
  claimgate::log::set_level(claimgate::log::Level::Info);
}
