#include "jwt/base64url.h"

#include <array>
#include <cstdint>

namespace claimgate::jwt {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  table.fill(kInvalid);
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}
constexpr auto kDecode = make_decode_table();
}  // namespace

bool decode_base64url(std::string_view text, std::string& out) {
  const std::size_t tail = text.size() % 4;
  if (tail == 1) return false;
  const std::size_t start = out.size();
  out.resize(start + text.size() / 4 * 3 + (tail == 0 ? 0 : tail - 1));
  char* dst = out.data() + start;
  const auto at = [&text](std::size_t k) { return kDecode[static_cast<unsigned char>(text[k])]; };
  std::size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint8_t a = at(i), b = at(i + 1), c = at(i + 2), d = at(i + 3);
    if (((a | b | c | d) & 0xc0) != 0) return false;  // kInvalid is the only value above 63
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    *dst++ = static_cast<char>(v >> 16);
    *dst++ = static_cast<char>((v >> 8) & 0xff);
    *dst++ = static_cast<char>(v & 0xff);
  }
  if (tail == 0) return true;
  const std::uint8_t a = at(i), b = at(i + 1);
  if (((a | b) & 0xc0) != 0) return false;
  if (tail == 2) {
    if ((b & 0x0f) != 0) return false;  // non-canonical: unused bits set
    *dst = static_cast<char>((a << 2) | (b >> 4));
    return true;
  }
  const std::uint8_t c = at(i + 2);
  if ((c & 0xc0) != 0 || (c & 0x03) != 0) return false;
  *dst++ = static_cast<char>((a << 2) | (b >> 4));
  *dst = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
  return true;
}

std::string encode_base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto at = [&bytes](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kAlphabet[(v >> 6) & 0x3f]);
    out.push_back(kAlphabet[v & 0x3f]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
  } else if (rest == 2) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kAlphabet[(v >> 6) & 0x3f]);
  }
  return out;
}

}  // namespace claimgate::jwt
