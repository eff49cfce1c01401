#include "policy/path_normalizer.h"

#include <algorithm>
#include <optional>

namespace claimgate::policy {

std::string_view to_string(PathError error) {
  switch (error) {
    case PathError::NotAbsolute: return "not_absolute";
    case PathError::InvalidCharacter: return "invalid_character";
    case PathError::MalformedEscape: return "malformed_escape";
    case PathError::EncodedNul: return "encoded_nul";
    case PathError::EncodedSlash: return "encoded_slash";
    case PathError::Backslash: return "backslash";
    case PathError::PathParameter: return "path_parameter";
  }
  return "unknown";
}

std::string_view describe(PathError error) {
  switch (error) {
    case PathError::NotAbsolute: return "the request path does not start with '/'";
    case PathError::InvalidCharacter: return "the request path contains a character that is not allowed in a URI path";
    case PathError::MalformedEscape: return "the request path has a '%' that is not followed by two hex digits";
    case PathError::EncodedNul: return "the request path contains an encoded NUL (%00)";
    case PathError::EncodedSlash: return "the request path contains an encoded slash (%2F), which is not allowed";
    case PathError::Backslash: return "the request path contains a backslash ('\\' or %5C), which is not allowed";
    case PathError::PathParameter: return "the request path contains a ';' path parameter, which is not allowed";
  }
  return "unknown path error";
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

bool is_dot_segment(std::string_view segment) { return segment == "." || segment == ".."; }

// Appends `raw` to `out`, decoding escapes of unreserved characters and rejecting what `options`
// does not allow.
std::optional<PathError> decode_into(std::string_view raw, const PathOptions& options, std::string& out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      const int hi = i + 2 < raw.size() ? hex_value(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(raw[i + 2]) : -1;
      if (lo < 0) return PathError::MalformedEscape;
      const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
      if (decoded == 0) return PathError::EncodedNul;
      if (decoded == '/' && !options.allow_encoded_slash) return PathError::EncodedSlash;
      if (decoded == '\\' && !options.allow_backslash) return PathError::Backslash;
      if (is_unreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        out += '%';
        out += kHex[hi];
        out += kHex[lo];
      }
    } else if (c == '\\') {
      if (!options.allow_backslash) return PathError::Backslash;
      out += '\\';
    } else if (c == ';') {
      if (!options.allow_path_parameters) return PathError::PathParameter;
      out += ';';
    } else if (c <= 0x20 || c >= 0x7F || c == '#' || c == '?') {
      return PathError::InvalidCharacter;
    } else {
      out += static_cast<char>(c);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::string, PathError> normalize_path(std::string_view raw_path, const PathOptions& options) {
  if (!raw_path.starts_with('/')) return fail(PathError::NotAbsolute);
  std::string path;
  path.reserve(raw_path.size());
  if (auto error = decode_into(raw_path, options, path)) return fail(*error);

  // Dot-segment removal and slash merging in place: the output never outruns the input.
  std::size_t out = 0;
  std::size_t in = 1;
  bool trailing_slash = false;
  while (in <= path.size()) {
    const std::size_t end = std::min(path.find('/', in), path.size());
    const std::string_view segment(path.data() + in, end - in);
    // Servlet containers read "..;x" as "..": with parameters allowed such a segment is refused.
    if (options.allow_path_parameters && segment.find(';') != std::string_view::npos &&
        is_dot_segment(segment.substr(0, segment.find(';'))))
      return fail(PathError::PathParameter);
    trailing_slash = segment.empty() || is_dot_segment(segment);
    if (segment == "..") {
      if (out > 0) out = path.rfind('/', out - 1);
    } else if (!trailing_slash) {
      path[out++] = '/';
      std::copy(segment.begin(), segment.end(), path.begin() + static_cast<std::ptrdiff_t>(out));
      out += segment.size();
    }
    in = end + 1;
  }
  if (trailing_slash || out == 0) path[out++] = '/';
  path.resize(out);
  return path;
}

}  // namespace claimgate::policy
