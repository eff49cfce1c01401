#pragma once
// Finding the token(s) of a request, per the configured sources (RFC 6750 section 2, RFC 6265).
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth_settings.h"
#include "core/result.h"

namespace claimgate::auth {

using HeaderList = std::span<const std::pair<std::string_view, std::string_view>>;

enum class ExtractionError {
  DuplicateHeader,        // two header lines for a header source (e.g. two Authorization): 400
  ConflictingCookies,     // the token cookie twice with different values: 400
  MalformedCredentials,   // empty token, a comma or space inside it ("Bearer Bearer x"): 401
};

std::string_view to_string(ExtractionError error);
std::string_view describe(ExtractionError error);

struct FoundToken {
  std::string_view token;
  std::size_t source_index;
};

// Every present source, in configured order; the first is "the" token. A header whose prefix
// does not match (Authorization: Basic ...) is not present.
Result<std::vector<FoundToken>, ExtractionError> find_tokens(std::span<const TokenSource> sources, HeaderList headers,
                                                            std::string_view query);
// The same into `found` (cleared first), which keeps its capacity from request to request.
Result<void, ExtractionError> find_tokens(std::span<const TokenSource> sources, HeaderList headers,
                                          std::string_view query, std::vector<FoundToken>& found);

// The Cookie header values with one cookie removed (for strip_token); empty when nothing is left.
std::string remove_cookie(std::string_view cookie_header, std::string_view name);

// The query string with every `name=` parameter removed.
std::string remove_query_parameter(std::string_view query, std::string_view name);

}  // namespace claimgate::auth
