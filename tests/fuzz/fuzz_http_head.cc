// Request framing as the client session does it, in-process: skip leading empty lines,
// http::find_head_end, http::inspect_request_head, and, when the head passes, the same bytes
// through Beast's request_parser<empty_body>. Where both accept a head they must frame it alike
// (method, target, version, Content-Length, chunked): a disagreement is a smuggling bug.
#include <boost/beast/http.hpp>
#include <cstdlib>

#include "fuzz_input.h"
#include "http/request_head.h"

using namespace claimgate;
namespace bhttp = boost::beast::http;

namespace {
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;  // proxy::Settings default order of magnitude
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_view(data, size));
  std::string_view bytes = text;
  while (!bytes.empty() && (bytes.front() == '\r' || bytes.front() == '\n')) bytes.remove_prefix(1);

  const auto end = http::find_head_end(bytes);
  if (!end) return 0;
  if (*end > bytes.size() || *end == 0) std::abort();
  if (*end > kMaxHeaderBytes) return 0;
  const std::string head_text(bytes.substr(0, *end));  // exact-size copy so overreads are caught
  auto head = http::inspect_request_head(head_text);
  if (!head) {
    if (http::status_for(head.error()) < 400) std::abort();
    (void)http::describe(head.error());
    return 0;
  }
  (void)head->path();
  (void)head->has_body();
  if (head->target.empty() || (head->target[0] != '/' && head->target != "*")) std::abort();

  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes + 4));
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(head_text.data(), head_text.size()), ec);
  if (ec || used != head_text.size() || !parser.is_header_done()) return 0;  // the session answers 400

  const auto& message = parser.get();
  if (message.method_string() != head->method) std::abort();
  if (!head->absolute_form && message.target() != head->target) std::abort();
  if (message.version() != head->version) std::abort();
  if (parser.chunked() != head->chunked) std::abort();
  const auto beast_length = parser.content_length();
  if (!head->chunked) {
    if (beast_length.has_value() != head->content_length.has_value()) std::abort();
    if (beast_length && *beast_length != *head->content_length) std::abort();
  }
  return 0;
}
