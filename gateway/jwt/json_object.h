#pragma once
// Header and payload JSON -> ClaimValue::Object, parsed with simdjson's DOM on a per-thread
// parser. Repeated member names are rejected at every level (RFC 7515 section 4 and RFC 7519
// section 4 say a parser MUST reject them or use the last; we reject), and so is nesting
// deeper than kMaxJsonDepth.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/result.h"
#include "jwt/error.h"

namespace claimgate::jwt {

inline constexpr std::size_t kMaxJsonDepth = 32;

// Extra capacity to reserve in a buffer passed below, so that padding it costs no reallocation.
inline constexpr std::size_t kJsonPadding = 64;

// True when a member name repeats (compared after unescaping). Sorts `names`.
bool has_duplicate_names(std::vector<std::string_view>& names);

// `json` is a non-const buffer because simdjson reads past the text: each function below pads
// it by kJsonPadding for the parse and restores its size. BadJson unless the text is valid
// UTF-8 JSON whose top level is an object; JsonTooDeep, DuplicateMember as described above.
Result<ClaimValue::Object, Error> parse_json_object(std::string& json);

// The JOSE header members verify() reads. Every member is checked as in parse_json_object
// (repeats, depth, valid JSON); the others are then dropped.
struct HeaderMembers {
  std::optional<ClaimValue> alg;
  std::optional<ClaimValue> kid;
  bool has_crit = false;
};
Result<HeaderMembers, Error> parse_header_members(std::string& json);

// The top-level string member `name`, without building or checking anything else (a cheap look
// before verification). `if_absent` when it is missing or not a string.
Result<std::string, Error> peek_string_member(std::string& json, std::string_view name, Error if_absent);

// The token payload, parsed once per verification: parse_payload() keeps the parsed document in
// this thread's payload parser (not the one parse_header_members and parse_json_object use), so
// its "iss" can be read before the signature is checked and its claims built after, without
// decoding or parsing it twice. The two readers answer for the last parse_payload() on this
// thread, and string_views they return live until the next one; BadJson when none succeeded.
Result<void, Error> parse_payload(std::string& json);
Result<std::string_view, Error> payload_string_member(std::string_view name, Error if_absent);
// As parse_json_object would answer for the same text (repeats, depth).
Result<ClaimValue::Object, Error> payload_claims();

}  // namespace claimgate::jwt
