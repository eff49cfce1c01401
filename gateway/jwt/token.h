#pragma once
// Zero-copy split of a compact JWS (RFC 7515 section 7.1) into its three segments.
#include <cstddef>
#include <string_view>

#include "core/result.h"
#include "jwt/error.h"

namespace claimgate::jwt {

inline constexpr std::size_t kDefaultMaxTokenBytes = 16 * 1024;

struct TokenSegments {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;      // may be empty here; verification then fails
  std::string_view signing_input;  // "header.payload", the bytes the signature covers
};

// TokenTooLarge above `max_bytes`; Malformed unless there are exactly three segments with a
// non-empty header and payload.
Result<TokenSegments, Error> split_token(std::string_view token, std::size_t max_bytes);

}  // namespace claimgate::jwt
