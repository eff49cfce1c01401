#include <doctest/doctest.h>

#include "http/request_head.h"

using namespace claimgate::http;

namespace doctest {
template <>
struct StringMaker<RequestDefect> {
  static String convert(RequestDefect d) { return String(to_string(d).data(), to_string(d).size()); }
};
}  // namespace doctest

namespace {
RequestDefect defect_of(std::string_view head) {
  auto r = inspect_request_head(head);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_CASE("a plain request") {
  auto r = inspect_request_head("GET /a/b?c=d HTTP/1.1\r\nHost: Example.com:8080\r\nConnection: keep-alive, X-Foo\r\n\r\n");
  REQUIRE(r.has_value());
  CHECK(r->method == "GET");
  CHECK(r->target == "/a/b?c=d");
  CHECK(r->path() == "/a/b");
  CHECK(r->host == "Example.com:8080");
  CHECK(r->version == 11);
  CHECK_FALSE(r->has_body());
  CHECK(r->connection_options == std::vector<std::string_view>{"keep-alive", "X-Foo"});
}

TEST_CASE("framing") {
  auto cl = inspect_request_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n");
  REQUIRE(cl.has_value());
  CHECK(cl->content_length == 12u);
  CHECK(cl->has_body());
  auto te = inspect_request_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
  REQUIRE(te.has_value());
  CHECK(te->chunked);

  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        RequestDefect::ContentLengthWithTransferEncoding);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") ==
        RequestDefect::DuplicateContentLength);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n") == RequestDefect::BadContentLength);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n") ==
        RequestDefect::BadContentLength);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") == RequestDefect::ChunkedNotLast);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n") == RequestDefect::ChunkedNotLast);
  CHECK(defect_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") ==
        RequestDefect::UnsupportedTransferCoding);
  CHECK(defect_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == RequestDefect::TransferEncodingInHttp10);
}

TEST_CASE("field syntax") {
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n") == RequestDefect::ObsFold);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nX : a\r\n\r\n") == RequestDefect::WhitespaceBeforeColon);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nX@: a\r\n\r\n") == RequestDefect::BadFieldName);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n") == RequestDefect::BadFieldName);
  CHECK(defect_of(std::string_view("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35)) == RequestDefect::BadFieldValue);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n") == RequestDefect::BadFieldValue);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n") == RequestDefect::BareLineEnding);
  CHECK(defect_of("GET / HTTP/1.1\nHost: a\n\n") == RequestDefect::BareLineEnding);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n") == RequestDefect::BareLineEnding);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n") == RequestDefect::BareLineEnding);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n") == RequestDefect::BareLineEnding);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\n\n") == RequestDefect::BareLineEnding);
  CHECK(inspect_request_head("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\t!\r\n\r\n").has_value());  // obs-text, HTAB
}

TEST_CASE("host rules") {
  CHECK(defect_of("GET / HTTP/1.1\r\n\r\n") == RequestDefect::MissingHost);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == RequestDefect::DuplicateHost);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == RequestDefect::BadHost);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a:99999x\r\n\r\n") == RequestDefect::BadHost);
  CHECK(inspect_request_head("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").has_value());
  CHECK(inspect_request_head("GET / HTTP/1.0\r\n\r\n").has_value());
}

TEST_CASE("request line and targets") {
  CHECK(defect_of("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::FragmentInTarget);
  CHECK(defect_of("GET a HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadTarget);
  CHECK(defect_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadTarget);
  CHECK(defect_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadMethod);
  CHECK(defect_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == RequestDefect::UnsupportedVersion);
  CHECK(defect_of("GET / http/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadVersion);
  CHECK(defect_of("GET /  HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadRequestLine);
  CHECK(defect_of("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n") == RequestDefect::ConnectNotSupported);
  CHECK(defect_of("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n") == RequestDefect::UnsupportedExpectation);

  auto abs = inspect_request_head("GET HTTP://Api.Example.com:81?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  REQUIRE(abs.has_value());
  CHECK(abs->absolute_form);
  CHECK(abs->host == "Api.Example.com:81");
  CHECK(abs->target == "/?q=1");
  CHECK(defect_of("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n") == RequestDefect::BadTarget);
  auto options = inspect_request_head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(options.has_value());
  CHECK(options->target == "*");
}

TEST_CASE("finding the end of a head") {
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest") == 27u);
  CHECK(find_head_end("GET / HTTP/1.1\nHost: a\n\nrest") == 24u);
  CHECK_FALSE(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n").has_value());
}

TEST_CASE("every defect has a name, a sentence and a status") {
  for (int i = 0; i <= static_cast<int>(RequestDefect::UnsupportedExpectation); ++i) {
    const auto d = static_cast<RequestDefect>(i);
    CHECK_FALSE(to_string(d).empty());
    CHECK(describe(d).size() > 10);
    CHECK(status_for(d) >= 400);
  }
}

TEST_CASE("a head with more fields than the limit is refused before the fields are checked") {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 99; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  RequestHead out;
  CHECK(inspect_request_head(head + "\r\n", out, 100).has_value());
  CHECK(out.fields.size() == 100);
  auto over = inspect_request_head(head + "X-Last: v\r\n\r\n", out, 100);
  REQUIRE_FALSE(over.has_value());
  CHECK(over.error() == RequestDefect::TooManyHeaders);
  CHECK(status_for(RequestDefect::TooManyHeaders) == 431);
  // Invalid field syntax beyond the limit is not even looked at: the count decides first.
  std::string empty_fields = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 15800; ++i) empty_fields += "X:\r\n";
  auto flood = inspect_request_head(empty_fields + "\r\n", out, 100);
  REQUIRE_FALSE(flood.has_value());
  CHECK(flood.error() == RequestDefect::TooManyHeaders);
}

TEST_CASE("the fields are views into the head, in order, with their values trimmed") {
  RequestHead out;
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-A:  one \r\nx-a: two\r\n\r\n";
  REQUIRE(inspect_request_head(head, out).has_value());
  REQUIRE(out.fields.size() == 3);
  CHECK(out.fields[1] == Field{"X-A", "one"});
  CHECK(out.fields[2] == Field{"x-a", "two"});
  REQUIRE(out.find("X-a") != nullptr);
  CHECK(*out.find("X-a") == "one");
  CHECK(out.fields[1].first.data() >= head.data());
  CHECK(out.fields[1].first.data() < head.data() + head.size());
}

TEST_CASE("a WebSocket handshake") {
  auto handshake = [](std::string_view head) {
    auto r = inspect_request_head(head);
    REQUIRE(r.has_value());
    return is_websocket_upgrade(*r);
  };
  CHECK(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\nUpgrade: h2c, WebSocket\r\n\r\n"));
  CHECK(handshake(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK_FALSE(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"));  // not named in Connection
  CHECK_FALSE(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n"));
  CHECK_FALSE(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"));
  CHECK_FALSE(handshake("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocketx\r\n\r\n"));
  CHECK_FALSE(handshake("POST /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  CHECK_FALSE(handshake("GET /ws HTTP/1.0\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  // A body would make where the tunnel starts depend on its framing.
  CHECK_FALSE(handshake(
      "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\n"));
  CHECK(lists_websocket("websocket"));
  CHECK(lists_websocket(" h2c ,websocket"));
  CHECK_FALSE(lists_websocket("h2c"));
  CHECK_FALSE(lists_websocket(""));
}
