#pragma once
// Strict base64url (RFC 7515 section 2 and appendix C): alphabet A-Z a-z 0-9 - _, no padding,
// no whitespace, and the unused low bits of the last character must be zero, so every byte
// string has exactly one accepted encoding.
#include <string>
#include <string_view>

namespace claimgate::jwt {

// Appends the decoded bytes to `out`; false (with `out` unspecified) on any violation.
bool decode_base64url(std::string_view text, std::string& out);

std::string encode_base64url(std::string_view bytes);

}  // namespace claimgate::jwt
