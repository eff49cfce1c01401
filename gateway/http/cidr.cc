#include "http/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace claimgate::http {

std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text) {
  std::array<std::uint8_t, 16> out{};
  const std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view ip_text = text.substr(0, slash);
  auto ip = parse_ip(ip_text);
  if (!ip) return std::nullopt;
  const bool is_v4 = ip_text.find(':') == std::string_view::npos;
  unsigned bits = is_v4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view bits_text = text.substr(slash + 1);
    const auto [ptr, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (ec != std::errc{} || ptr != bits_text.data() + bits_text.size() || bits_text.empty()) return std::nullopt;
    if (bits > (is_v4 ? 32u : 128u)) return std::nullopt;
  }
  Cidr c;
  c.prefix_bits_ = is_v4 ? bits + 96 : bits;
  c.network_ = *ip;
  for (unsigned i = c.prefix_bits_; i < 128; ++i) c.network_[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  return c;
}

bool Cidr::contains(const std::array<std::uint8_t, 16>& address) const {
  const unsigned full = prefix_bits_ / 8;
  if (std::memcmp(address.data(), network_.data(), full) != 0) return false;
  const unsigned rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return (address[full] & mask) == network_[full];
}

bool is_trusted(const std::vector<Cidr>& networks, const std::array<std::uint8_t, 16>& address) {
  for (const Cidr& c : networks) {
    if (c.contains(address)) return true;
  }
  return false;
}

}  // namespace claimgate::http
