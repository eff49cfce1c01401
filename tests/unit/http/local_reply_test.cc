#include <doctest/doctest.h>

#include "http/local_reply.h"

using namespace claimgate::http;

TEST_CASE("the local reply table") {
  CHECK(reply_for(RequestDefect::ObsFold).status == 400);
  CHECK(reply_for(RequestDefect::ObsFold).close_connection);
  CHECK(reply_for(RequestDefect::UnsupportedTransferCoding).status == 501);
  CHECK(reply_for(UpstreamError::Timeout).status == 504);
  CHECK(reply_for(UpstreamError::Refused).status == 502);
  CHECK(reply_header_too_large().status == 431);
  CHECK(reply_body_too_large().status == 413);
  CHECK(reply_no_route().status == 404);
  CHECK_FALSE(reply_no_route().close_connection);
}

TEST_CASE("JSON bodies are escaped") {
  LocalReply r{400, "bad_request", "a \"quoted\"\nline", true, {}};
  CHECK(r.json_body() == "{\"error\":\"bad_request\",\"error_description\":\"a \\\"quoted\\\"\\nline\"}\n");
}
