#include <doctest/doctest.h>

#include "http/cidr.h"

using namespace claimgate::http;

TEST_CASE("IPv4 and IPv6 networks") {
  const auto net8 = Cidr::parse("10.0.0.0/8");
  REQUIRE(net8);
  CHECK(net8->contains(*parse_ip("10.1.2.3")));
  CHECK_FALSE(net8->contains(*parse_ip("11.0.0.1")));
  const auto host = Cidr::parse("127.0.0.1");
  REQUIRE(host);
  CHECK(host->contains(*parse_ip("127.0.0.1")));
  CHECK_FALSE(host->contains(*parse_ip("127.0.0.2")));
  const auto v6 = Cidr::parse("fd00::/8");
  REQUIRE(v6);
  CHECK(v6->contains(*parse_ip("fd12::1")));
  CHECK_FALSE(v6->contains(*parse_ip("fe80::1")));
  const auto odd = Cidr::parse("192.168.1.128/25");
  REQUIRE(odd);
  CHECK(odd->contains(*parse_ip("192.168.1.200")));
  CHECK_FALSE(odd->contains(*parse_ip("192.168.1.100")));
  CHECK(is_trusted({*net8, *v6}, *parse_ip("fd00::5")));
  CHECK_FALSE(is_trusted({}, *parse_ip("10.0.0.1")));
}

TEST_CASE("malformed networks are refused") {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "::1/129", "example.com", "10.0.0/8", "1.2.3.4/8x"}) {
    CHECK_FALSE(Cidr::parse(bad).has_value());
  }
}
