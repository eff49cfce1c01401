#include <doctest/doctest.h>

#include "auth/token_sources.h"

using namespace claimgate::auth;
using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

namespace doctest {
template <>
struct StringMaker<ExtractionError> {
  static String convert(ExtractionError e) { return String(to_string(e).data(), to_string(e).size()); }
};
}  // namespace doctest

namespace {
const std::vector<TokenSource> kSources{{TokenSource::Kind::Header, "Authorization", "Bearer "},
                                        {TokenSource::Kind::Header, "X-Token", ""},
                                        {TokenSource::Kind::Cookie, "access_token", ""},
                                        {TokenSource::Kind::Query, "access_token", ""}};

std::vector<std::string> tokens_of(const Headers& h, std::string_view query = {}) {
  auto r = find_tokens(kSources, h, query);
  REQUIRE(r.has_value());
  std::vector<std::string> out;
  for (const auto& t : *r) out.push_back(std::to_string(t.source_index) + ":" + std::string(t.token));
  return out;
}

ExtractionError error_of(const Headers& h, std::string_view query = {}) {
  auto r = find_tokens(kSources, h, query);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_CASE("bearer scheme is case-insensitive and other schemes are absent") {
  CHECK(tokens_of({{"authorization", "bearer abc.def.ghi"}}) == std::vector<std::string>{"0:abc.def.ghi"});
  CHECK(tokens_of({{"Authorization", "BEARER   abc"}}) == std::vector<std::string>{"0:abc"});
  CHECK(tokens_of({{"Authorization", "Basic dXNlcjpwYXNz"}}).empty());
  CHECK(tokens_of({}).empty());
}

TEST_CASE("malformed credentials") {
  CHECK(error_of({{"Authorization", "Bearer Bearer x"}}) == ExtractionError::MalformedCredentials);
  CHECK(error_of({{"Authorization", "Bearer a,b"}}) == ExtractionError::MalformedCredentials);
  CHECK(error_of({{"Authorization", "Bearer "}}) == ExtractionError::MalformedCredentials);
  CHECK(error_of({{"Authorization", "Bearer a=b"}}) == ExtractionError::MalformedCredentials);
  CHECK(tokens_of({{"Authorization", "Bearer a+/b=="}}) == std::vector<std::string>{"0:a+/b=="});
}

TEST_CASE("duplicates") {
  CHECK(error_of({{"Authorization", "Bearer a"}, {"authorization", "Bearer a"}}) == ExtractionError::DuplicateHeader);
  CHECK(error_of({{"Cookie", "access_token=a"}, {"Cookie", "access_token=b"}}) == ExtractionError::ConflictingCookies);
  CHECK(tokens_of({{"Cookie", "access_token=a; x=1"}, {"Cookie", "access_token=a"}}) == std::vector<std::string>{"2:a"});
  CHECK(error_of({}, "access_token=a&access_token=b") == ExtractionError::DuplicateHeader);
}

TEST_CASE("cookies per RFC 6265: exact names, with or without a space") {
  CHECK(tokens_of({{"Cookie", "x_access_token=no;access_token=yes;other=1"}}) == std::vector<std::string>{"2:yes"});
  CHECK(tokens_of({{"Cookie", "access_token_x=no"}}).empty());
  CHECK(tokens_of({{"Cookie", "Access_Token=no"}}).empty());
}

TEST_CASE("every present source is reported in configured order") {
  CHECK(tokens_of({{"X-Token", "t2"}, {"Authorization", "Bearer t1"}, {"Cookie", "access_token=t3"}}, "a=1&access_token=t4") ==
        std::vector<std::string>{"0:t1", "1:t2", "2:t3", "3:t4"});
}

TEST_CASE("stripping a cookie or a query parameter leaves the rest") {
  CHECK(remove_cookie("a=1; access_token=x;b=2", "access_token") == "a=1; b=2");
  CHECK(remove_cookie("access_token=x", "access_token").empty());
  CHECK(remove_query_parameter("a=1&access_token=x&b=2", "access_token") == "a=1&b=2");
  CHECK(remove_query_parameter("access_token=x", "access_token").empty());
}
