#pragma once
// Request path normalisation after Istio's table (RFC 3986 §6.2.2 plus the usual rejections).
// The result is both what routes match and what the upstream receives, so a route can never
// authorise one path while the upstream serves another.
#include <string>
#include <string_view>

#include "core/result.h"

namespace claimgate::policy {

struct PathOptions {
  bool allow_encoded_slash = false;    // keep %2F as is instead of rejecting it
  bool allow_backslash = false;        // keep '\' and %5C as is instead of rejecting them
  bool allow_path_parameters = false;  // keep ';' as is instead of rejecting it
};

enum class PathError {
  NotAbsolute,       // empty or not starting with '/'
  InvalidCharacter,  // a control character, space, '#', '?' or a byte above 0x7E
  MalformedEscape,   // '%' not followed by two hex digits
  EncodedNul,        // %00
  EncodedSlash,      // %2F
  Backslash,         // '\' or %5C
  PathParameter,     // ';'
};

std::string_view to_string(PathError error);
std::string_view describe(PathError error);

// Percent-decodes unreserved characters (ALPHA DIGIT - . _ ~) and upper-cases the hex of the
// other escapes; then removes dot segments (RFC 3986 §5.2.4, clamped at the root, so %2e%2e
// counts) and collapses empty segments ("//"). `raw_path` excludes the query.
Result<std::string, PathError> normalize_path(std::string_view raw_path, const PathOptions& options);

}  // namespace claimgate::policy
