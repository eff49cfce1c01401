#pragma once
// Strict RFC 9112 checks on the raw bytes of a request head, done before Beast parses it:
// Beast tolerates shapes (obs-fold, duplicate equal Content-Lengths, TE gzip + CL) that a
// gateway must refuse, since the upstream may frame the same bytes differently.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/result.h"

namespace claimgate::http {

enum class RequestDefect {
  BadRequestLine,
  BadMethod,
  BadTarget,
  FragmentInTarget,
  BadVersion,
  UnsupportedVersion,
  BareLineEnding,
  ObsFold,
  BadFieldName,
  WhitespaceBeforeColon,
  BadFieldValue,
  MissingHost,
  DuplicateHost,
  BadHost,
  DuplicateContentLength,
  BadContentLength,
  ContentLengthWithTransferEncoding,
  ChunkedNotLast,
  UnsupportedTransferCoding,
  TransferEncodingInHttp10,
  ConnectNotSupported,
  UnsupportedExpectation,
  TooManyHeaders,
};

std::string_view to_string(RequestDefect defect);   // stable snake_case name
std::string_view describe(RequestDefect defect);    // human sentence
unsigned status_for(RequestDefect defect);          // 400, 417, 501 or 505

using Field = std::pair<std::string_view, std::string_view>;  // name, value (whitespace trimmed)

// A checked request head. The string_views point into the head text it was inspected from.
// Reused across requests, its strings and vectors keep their capacity (no allocation per request).
struct RequestHead {
  std::string method;
  std::string target;  // origin-form ("/p?q"), or "*"; absolute-form is rewritten to origin-form
  std::string host;    // Host field, or the authority of an absolute-form target
  bool absolute_form = false;
  int version = 11;    // 10 or 11
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool expect_continue = false;
  std::vector<std::string_view> connection_options;  // tokens of Connection, as sent
  std::vector<Field> fields;                          // every field, in order

  const std::string_view* find(std::string_view name) const;  // the first value of `name`, or null

  std::string_view path() const { return std::string_view(target).substr(0, target.find('?')); }
  bool has_body() const { return chunked || (content_length && *content_length > 0); }
};

// Length of the head including its terminating empty line, once `bytes` holds it all.
// Bare-LF terminated heads are found too, so that they are rejected rather than waited for.
std::optional<std::size_t> find_head_end(std::string_view bytes);

// Checks `head` (request line through the empty line) and fills `out`. More than `max_fields`
// fields is TooManyHeaders, found before any per-field work beyond counting lines.
Result<void, RequestDefect> inspect_request_head(std::string_view head, RequestHead& out,
                                                 std::size_t max_fields = SIZE_MAX);
Result<RequestHead, RequestDefect> inspect_request_head(std::string_view head);

// Comma-separated list members with optional whitespace trimmed; empty members are skipped.
std::vector<std::string_view> split_list(std::string_view value);
template <class F>
void for_each_list_member(std::string_view value, F&& f) {
  while (true) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

using ascii::iequals;
bool is_token(std::string_view text);

// A WebSocket opening handshake (RFC 6455 section 4.1): an HTTP/1.1 GET without a body whose
// Connection lists "upgrade" and whose Upgrade lists "websocket". Any other protocol in Upgrade
// (h2c) is never asked for. Costs nothing for a request without Connection options.
bool is_websocket_upgrade(const RequestHead& head);
// `value` (an Upgrade field) lists "websocket".
bool lists_websocket(std::string_view value);

}  // namespace claimgate::http
