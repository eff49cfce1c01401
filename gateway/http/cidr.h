#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace claimgate::http {

// An IPv4 or IPv6 network. IPv4 is stored as its IPv4-mapped IPv6 form so one compare covers both.
class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1/128", "127.0.0.1"

  bool contains(const std::array<std::uint8_t, 16>& address) const;

 private:
  std::array<std::uint8_t, 16> network_{};
  unsigned prefix_bits_ = 0;
};

// Parses an IPv4 or IPv6 literal into the 16-byte form Cidr uses.
std::optional<std::array<std::uint8_t, 16>> parse_ip(std::string_view text);

bool is_trusted(const std::vector<Cidr>& networks, const std::array<std::uint8_t, 16>& address);

}  // namespace claimgate::http
