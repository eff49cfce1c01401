#include "http/request_head.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/ascii.h"

namespace claimgate::http {
namespace {

// field-vchar or obs-text, SP, HTAB
bool is_field_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }


std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 3986 reg-name: unreserved / pct-encoded / sub-delims
constexpr ascii::CharSet kHostChars = ascii::kAlnum.with("-._~%!$&'()*+,;=");

// uri-host [ ":" port ] (RFC 9110 section 7.2), empty allowed.
bool is_valid_host(std::string_view host) {
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!(ascii::is_hex_digit(c) || c == ':' || c == '.')) return false;
    }
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const auto colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), [](char c) { return kHostChars.contains(c); }))
      return false;
    if (colon != std::string_view::npos) port = host.substr(colon + 1);
  }
  return port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

// Position of the first `c` in head[from, end), or npos. memchr rather than find_first_of, whose
// libstdc++ form makes a call per character.
std::size_t find_char(std::string_view head, char c, std::size_t from) {
  if (from >= head.size()) return std::string_view::npos;
  const void* hit = std::memchr(head.data() + from, c, head.size() - from);
  return hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - head.data()) : std::string_view::npos;
}

// The next CRLF-terminated line of `head` from `pos`, in a head whose line endings
// count_crlf_lines has checked.
Result<std::string_view, RequestDefect> next_line(std::string_view head, std::size_t& pos) {
  const std::size_t start = pos;
  const auto cr = find_char(head, '\r', start);
  if (cr == std::string_view::npos || cr + 1 >= head.size() || head[cr + 1] != '\n')
    return fail(RequestDefect::BareLineEnding);
  pos = cr + 2;
  return head.substr(start, cr - start);
}

// The number of lines when every line ending is CRLF; fails on a bare CR or LF. Every LF must
// follow a CR, and as many CRs as LFs leaves no CR without its LF.
Result<std::size_t, RequestDefect> count_crlf_lines(std::string_view head) {
  std::size_t lf = 0;
  for (std::size_t i = find_char(head, '\n', 0); i != std::string_view::npos; i = find_char(head, '\n', i + 1)) {
    if (i == 0 || head[i - 1] != '\r') return fail(RequestDefect::BareLineEnding);
    ++lf;
  }
  std::size_t cr = 0;
  for (std::size_t i = find_char(head, '\r', 0); i != std::string_view::npos; i = find_char(head, '\r', i + 1)) ++cr;
  if (cr != lf) return fail(RequestDefect::BareLineEnding);
  return lf;
}

Result<void, RequestDefect> parse_request_line(std::string_view line, RequestHead& out) {
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(RequestDefect::BadRequestLine);
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(RequestDefect::BadRequestLine);
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);

  if (!is_token(method)) return fail(RequestDefect::BadMethod);
  if (version == "HTTP/1.1") {
    out.version = 11;
  } else if (version == "HTTP/1.0") {
    out.version = 10;
  } else if (version.size() == 8 && version.starts_with("HTTP/") && ascii::is_digit(version[5]) &&
             version[6] == '.' && ascii::is_digit(version[7])) {
    return fail(RequestDefect::UnsupportedVersion);
  } else {
    return fail(RequestDefect::BadVersion);
  }

  if (target.empty()) return fail(RequestDefect::BadTarget);
  for (char c : target) {
    if (c == '#') return fail(RequestDefect::FragmentInTarget);
    if (!is_target_char(static_cast<unsigned char>(c))) return fail(RequestDefect::BadTarget);
  }
  out.method.assign(method);
  if (method == "CONNECT") return fail(RequestDefect::ConnectNotSupported);
  if (target.front() == '/') {
    out.target.assign(target);
  } else if (target == "*") {
    if (method != "OPTIONS") return fail(RequestDefect::BadTarget);
    out.target = "*";
  } else {
    // absolute-form: http(s)://authority[/path][?query]
    const auto scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return fail(RequestDefect::BadTarget);
    const std::string_view scheme = target.substr(0, scheme_end);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return fail(RequestDefect::BadTarget);
    target.remove_prefix(scheme_end + 3);
    const auto path_start = target.find_first_of("/?");
    const std::string_view authority = target.substr(0, path_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos || !is_valid_host(authority))
      return fail(RequestDefect::BadTarget);
    out.host.assign(authority);
    out.absolute_form = true;
    if (path_start == std::string_view::npos) {
      out.target = "/";
    } else if (target[path_start] == '?') {
      out.target.assign("/").append(target.substr(path_start));
    } else {
      out.target.assign(target.substr(path_start));
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(RequestDefect defect) {
  switch (defect) {
    case RequestDefect::BadRequestLine: return "bad_request_line";
    case RequestDefect::BadMethod: return "bad_method";
    case RequestDefect::BadTarget: return "bad_target";
    case RequestDefect::FragmentInTarget: return "fragment_in_target";
    case RequestDefect::BadVersion: return "bad_version";
    case RequestDefect::UnsupportedVersion: return "unsupported_version";
    case RequestDefect::BareLineEnding: return "bare_line_ending";
    case RequestDefect::ObsFold: return "obs_fold";
    case RequestDefect::BadFieldName: return "bad_field_name";
    case RequestDefect::WhitespaceBeforeColon: return "whitespace_before_colon";
    case RequestDefect::BadFieldValue: return "bad_field_value";
    case RequestDefect::MissingHost: return "missing_host";
    case RequestDefect::DuplicateHost: return "duplicate_host";
    case RequestDefect::BadHost: return "bad_host";
    case RequestDefect::DuplicateContentLength: return "duplicate_content_length";
    case RequestDefect::BadContentLength: return "bad_content_length";
    case RequestDefect::ContentLengthWithTransferEncoding: return "content_length_with_transfer_encoding";
    case RequestDefect::ChunkedNotLast: return "chunked_not_last";
    case RequestDefect::UnsupportedTransferCoding: return "unsupported_transfer_coding";
    case RequestDefect::TransferEncodingInHttp10: return "transfer_encoding_in_http10";
    case RequestDefect::ConnectNotSupported: return "connect_not_supported";
    case RequestDefect::UnsupportedExpectation: return "unsupported_expectation";
    case RequestDefect::TooManyHeaders: return "too_many_headers";
  }
  return "bad_request";
}

std::string_view describe(RequestDefect defect) {
  switch (defect) {
    case RequestDefect::BadRequestLine: return "The request line is not 'method SP target SP version'.";
    case RequestDefect::BadMethod: return "The method is not a token.";
    case RequestDefect::BadTarget: return "The request target is not a valid origin-, absolute- or asterisk-form.";
    case RequestDefect::FragmentInTarget: return "The request target contains a fragment ('#').";
    case RequestDefect::BadVersion: return "The HTTP version is malformed.";
    case RequestDefect::UnsupportedVersion: return "Only HTTP/1.0 and HTTP/1.1 are supported.";
    case RequestDefect::BareLineEnding: return "A line ends in a bare CR or LF instead of CRLF.";
    case RequestDefect::ObsFold: return "A header field uses obsolete line folding.";
    case RequestDefect::BadFieldName: return "A header field name is not a token.";
    case RequestDefect::WhitespaceBeforeColon: return "Whitespace between a header field name and the colon.";
    case RequestDefect::BadFieldValue: return "A header field value contains a control character.";
    case RequestDefect::MissingHost: return "An HTTP/1.1 request must carry exactly one Host header.";
    case RequestDefect::DuplicateHost: return "More than one Host header.";
    case RequestDefect::BadHost: return "The Host header is not a valid host[:port].";
    case RequestDefect::DuplicateContentLength: return "More than one Content-Length field.";
    case RequestDefect::BadContentLength: return "Content-Length is not a single decimal number.";
    case RequestDefect::ContentLengthWithTransferEncoding: return "Both Content-Length and Transfer-Encoding are present.";
    case RequestDefect::ChunkedNotLast: return "Transfer-Encoding must end in a single 'chunked'.";
    case RequestDefect::UnsupportedTransferCoding: return "Only the 'chunked' transfer coding is supported.";
    case RequestDefect::TransferEncodingInHttp10: return "Transfer-Encoding is not allowed in an HTTP/1.0 request.";
    case RequestDefect::ConnectNotSupported: return "CONNECT is not supported.";
    case RequestDefect::UnsupportedExpectation: return "Only 'Expect: 100-continue' is supported.";
    case RequestDefect::TooManyHeaders: return "The request carries more header fields than client.max_request_headers.";
  }
  return "Bad request.";
}

unsigned status_for(RequestDefect defect) {
  switch (defect) {
    case RequestDefect::UnsupportedVersion: return 505;
    case RequestDefect::UnsupportedTransferCoding:
    case RequestDefect::ConnectNotSupported: return 501;
    case RequestDefect::UnsupportedExpectation: return 417;
    case RequestDefect::TooManyHeaders: return 431;
    default: return 400;
  }
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), ascii::is_tchar);
}

bool lists_websocket(std::string_view value) {
  bool found = false;
  for_each_list_member(value, [&](std::string_view protocol) { found = found || iequals(protocol, "websocket"); });
  return found;
}

bool is_websocket_upgrade(const RequestHead& head) {
  if (head.connection_options.empty() || head.version != 11 || head.method != "GET" || head.has_body()) return false;
  if (std::none_of(head.connection_options.begin(), head.connection_options.end(),
                   [](std::string_view o) { return iequals(o, "upgrade"); }))
    return false;
  return std::any_of(head.fields.begin(), head.fields.end(),
                     [](const Field& f) { return iequals(f.first, "upgrade") && lists_websocket(f.second); });
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> out;
  for_each_list_member(value, [&](std::string_view item) { out.push_back(item); });
  return out;
}

std::optional<std::size_t> find_head_end(std::string_view bytes) {
  for (std::size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
  }
  return std::nullopt;
}

const std::string_view* RequestHead::find(std::string_view name) const {
  for (const Field& f : fields) {
    if (iequals(f.first, name)) return &f.second;
  }
  return nullptr;
}

Result<void, RequestDefect> inspect_request_head(std::string_view head, RequestHead& out, std::size_t max_fields) {
  out.method.clear();
  out.target.clear();
  out.host.clear();
  out.absolute_form = false;
  out.version = 11;
  out.content_length.reset();
  out.chunked = false;
  out.expect_continue = false;
  out.connection_options.clear();
  out.fields.clear();
  // One scan first: line endings must be CRLF, and counting them keeps a head of thousands of
  // empty fields from costing more than this scan.
  const auto counted = count_crlf_lines(head);
  if (!counted) return fail(counted.error());
  const std::size_t lines = *counted;
  if (head.empty() || head.back() != '\n') return fail(RequestDefect::BareLineEnding);
  if (lines > 2 && lines - 2 > max_fields) return fail(RequestDefect::TooManyHeaders);

  std::size_t pos = 0;
  auto request_line = next_line(head, pos);
  if (!request_line) return fail(request_line.error());
  if (pos >= head.size()) return fail(RequestDefect::BadRequestLine);
  if (auto ok = parse_request_line(*request_line, out); !ok) return fail(ok.error());

  int host_count = 0;
  int content_length_count = 0;
  int codings = 0;
  int chunked_codings = 0;
  bool chunked_last = false;
  bool saw_transfer_encoding = false;
  while (true) {
    if (pos >= head.size()) return fail(RequestDefect::BadRequestLine);
    auto next = next_line(head, pos);
    if (!next) return fail(next.error());
    const std::string_view line = *next;
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return fail(RequestDefect::ObsFold);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail(RequestDefect::BadFieldName);
    const std::string_view name = line.substr(0, colon);
    if (!name.empty() && (name.back() == ' ' || name.back() == '\t')) return fail(RequestDefect::WhitespaceBeforeColon);
    if (!is_token(name)) return fail(RequestDefect::BadFieldName);
    const std::string_view raw_value = line.substr(colon + 1);
    if (!std::all_of(raw_value.begin(), raw_value.end(), [](char c) { return is_field_value_char(static_cast<unsigned char>(c)); }))
      return fail(RequestDefect::BadFieldValue);
    const std::string_view value = trim_ows(raw_value);
    if (out.fields.size() >= max_fields) return fail(RequestDefect::TooManyHeaders);
    out.fields.emplace_back(name, value);

    if (iequals(name, "host")) {
      if (++host_count > 1) return fail(RequestDefect::DuplicateHost);
      if (!is_valid_host(value)) return fail(RequestDefect::BadHost);
      if (!out.absolute_form) out.host.assign(value);
    } else if (iequals(name, "content-length")) {
      if (++content_length_count > 1) return fail(RequestDefect::DuplicateContentLength);
      std::uint64_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size() || value.front() == '+')
        return fail(RequestDefect::BadContentLength);
      out.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      saw_transfer_encoding = true;
      for_each_list_member(value, [&](std::string_view coding) {
        ++codings;
        chunked_last = iequals(coding, "chunked");
        if (chunked_last) ++chunked_codings;
      });
    } else if (iequals(name, "expect")) {
      if (out.version == 11) {
        if (!iequals(value, "100-continue")) return fail(RequestDefect::UnsupportedExpectation);
        out.expect_continue = true;
      }
    } else if (iequals(name, "connection")) {
      for_each_list_member(value, [&](std::string_view option) { out.connection_options.push_back(option); });
    }
  }
  if (pos != head.size()) return fail(RequestDefect::BadRequestLine);

  if (out.version == 11 && host_count == 0) return fail(RequestDefect::MissingHost);
  if (saw_transfer_encoding) {
    if (out.version == 10) return fail(RequestDefect::TransferEncodingInHttp10);
    if (content_length_count > 0) return fail(RequestDefect::ContentLengthWithTransferEncoding);
    if (codings == 0 || !chunked_last || chunked_codings != 1) return fail(RequestDefect::ChunkedNotLast);
    if (codings != 1) return fail(RequestDefect::UnsupportedTransferCoding);
    out.chunked = true;
  }
  return {};
}

Result<RequestHead, RequestDefect> inspect_request_head(std::string_view head) {
  RequestHead out;
  if (auto ok = inspect_request_head(head, out); !ok) return fail(ok.error());
  return out;
}

}  // namespace claimgate::http
