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

TEST_CASE("a websocket_protocol token is read from handshakes only, decoded from base64url") {
  const std::vector<TokenSource> sources{{TokenSource::Kind::Header, "Authorization", "Bearer "},
                                         {TokenSource::Kind::WebSocketProtocol, "", ""}};
  std::vector<FoundToken> found;
  std::string decoded;
  // base64url("abc.def.ghi") without padding
  const Headers h{{"Sec-WebSocket-Protocol", "chat, base64url.bearer.authorization.claimgate.YWJjLmRlZi5naGk"}};
  auto find = [&](const Headers& headers, bool handshake) {
    return find_tokens(sources, TokenRequest{headers, {}, handshake}, found, decoded);
  };
  REQUIRE(find(h, true).has_value());
  REQUIRE(found.size() == 1);
  CHECK(found[0].source_index == 1);
  CHECK(found[0].token == "abc.def.ghi");
  REQUIRE(find(h, false).has_value());
  CHECK(found.empty());
  // The list may be split over several lines.
  REQUIRE(find({{"Sec-WebSocket-Protocol", "chat"},
                {"sec-websocket-protocol", "base64url.bearer.authorization.claimgate.YWJjLmRlZi5naGk"}},
               true)
              .has_value());
  CHECK(found.size() == 1);
  REQUIRE(find({{"Sec-WebSocket-Protocol", "chat"}}, true).has_value());
  CHECK(found.empty());
  // The prefix is case-sensitive, as subprotocols are.
  REQUIRE(find({{"Sec-WebSocket-Protocol", "Base64url.bearer.authorization.claimgate.YWJj"}}, true).has_value());
  CHECK(found.empty());

  auto error = [&](const Headers& headers) {
    auto r = find(headers, true);
    REQUIRE_FALSE(r.has_value());
    return r.error();
  };
  CHECK(error({{"Sec-WebSocket-Protocol", "base64url.bearer.authorization.claimgate."}}) ==
        ExtractionError::MalformedCredentials);
  CHECK(error({{"Sec-WebSocket-Protocol", "base64url.bearer.authorization.claimgate.YWJj="}}) ==
        ExtractionError::MalformedCredentials);  // padding is not base64url here
  // base64url("a b"): the decoded token must still be a bearer token.
  CHECK(error({{"Sec-WebSocket-Protocol", "base64url.bearer.authorization.claimgate.YSBi"}}) ==
        ExtractionError::MalformedCredentials);
  CHECK(error({{"Sec-WebSocket-Protocol",
                "base64url.bearer.authorization.claimgate.YWJj, base64url.bearer.authorization.claimgate.YWJj"}}) ==
        ExtractionError::DuplicateHeader);
  // Next to an Authorization header, both are reported: decide() verifies every different one.
  REQUIRE(find({{"Authorization", "Bearer x.y.z"},
                {"Sec-WebSocket-Protocol", "base64url.bearer.authorization.claimgate.YWJj"}},
               true)
              .has_value());
  REQUIRE(found.size() == 2);
  CHECK(found[0].token == "x.y.z");
  CHECK(found[1].token == "abc");
}

TEST_CASE("stripping the token entry leaves the other subprotocols in order") {
  CHECK(remove_protocol_token("chat, base64url.bearer.authorization.claimgate.YWJj, v2.chat") == "chat, v2.chat");
  CHECK(remove_protocol_token("base64url.bearer.authorization.claimgate.YWJj").empty());
  CHECK(remove_protocol_token("chat,superchat") == "chat, superchat");
}
