#pragma once
// ASCII character classes by table lookup. The <cctype> functions consult the locale through a
// call per character, and a string_view::find per character is a memchr call; both showed up
// as the largest user-space cost of checking a request head that carries a long token.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

namespace claimgate::ascii {

// A set of byte values, built at compile time.
class CharSet {
 public:
  constexpr CharSet() = default;
  constexpr CharSet with_range(char first, char last) const {
    CharSet s = *this;
    for (int c = static_cast<unsigned char>(first); c <= static_cast<unsigned char>(last); ++c) s.in_[c] = true;
    return s;
  }
  constexpr CharSet with(std::string_view chars) const {
    CharSet s = *this;
    for (char c : chars) s.in_[static_cast<unsigned char>(c)] = true;
    return s;
  }
  constexpr bool contains(char c) const { return in_[static_cast<unsigned char>(c)]; }

 private:
  std::array<bool, 256> in_{};
};

inline constexpr CharSet kDigits = CharSet().with_range('0', '9');
inline constexpr CharSet kAlnum = kDigits.with_range('a', 'z').with_range('A', 'Z');
inline constexpr CharSet kHexDigits = kDigits.with_range('a', 'f').with_range('A', 'F');
inline constexpr CharSet kTchars = kAlnum.with("!#$%&'*+-.^_`|~");  // RFC 9110 token

constexpr bool is_digit(char c) { return kDigits.contains(c); }
constexpr bool is_alnum(char c) { return kAlnum.contains(c); }
constexpr bool is_hex_digit(char c) { return kHexDigits.contains(c); }
constexpr bool is_tchar(char c) { return kTchars.contains(c); }

constexpr char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

// ASCII case-insensitive equality (header names, host names, scheme and algorithm names).
constexpr bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

}  // namespace claimgate::ascii
