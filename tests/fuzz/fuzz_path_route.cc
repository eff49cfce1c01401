// policy::normalize_path, then RouteTable::match over a fixed table of every matcher kind, and
// explain_match, which must agree with match. A normalised path must also be safe to forward as
// the upstream request target (printable ASCII without '#' or '?', escapes well formed).
// Input: one byte of PathOptions bits, then "METHOD\nHOST\nRAW_PATH".
#include <cstdlib>

#include "fuzz_input.h"
#include "policy/path_normalizer.h"
#include "policy/route_table.h"

using namespace claimgate;
using namespace claimgate::policy;

namespace {
RouteSpec route(std::string name, RouteMatch match) {
  RouteSpec spec;
  spec.name = std::move(name);
  spec.match = std::move(match);
  spec.upstream = "app";
  return spec;
}

const RouteTable& table() {
  static const RouteTable routes = [] {
    std::vector<RouteSpec> specs;
    specs.push_back(route("public", {.path_prefix = "/public/", .methods = {"GET", "HEAD"}}));
    specs.push_back(route("health", {.path = "/health", .host = "api.example.com"}));
    specs.push_back(route("admin", {.path_prefix = "/admin"}));
    specs.push_back(route("posts", {.path = "/posts", .methods = {"POST"}}));
    specs.push_back(route("tenant", {.path_regex = "^/tenants/([^/]+)/(a|b)?.*"}));
    specs.push_back(route("files", {.path_glob = "/files/*/**"}));
    specs.push_back(route("deep", {.path_glob = "/x/**/y/*"}));
    specs.push_back(route("v", {.path_prefix = "/v1/users/", .host = "[::1]"}));
    specs.push_back(route("rest", {.path_prefix = "/"}));
    auto compiled = RouteTable::compile(std::move(specs));
    if (!compiled) std::abort();
    return *std::move(compiled);
  }();
  return routes;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  PathOptions options{.allow_encoded_slash = (data[0] & 1) != 0,
                      .allow_backslash = (data[0] & 2) != 0,
                      .allow_path_parameters = (data[0] & 4) != 0};
  const std::string rest(fuzz::as_view(data + 1, size - 1));
  std::string_view input = rest;
  const std::string method(fuzz::take_field(input));
  const std::string host(fuzz::take_field(input));
  const std::string raw_path(input);

  auto normalized = normalize_path(raw_path, options);
  (void)normalize_host(host);
  if (!normalized) {
    (void)to_string(normalized.error());
    return 0;
  }
  const std::string& path = *normalized;
  // The result is absolute, has no empty or dot segments, and normalising it again changes nothing.
  if (path.empty() || path[0] != '/') std::abort();
  if (path.find("//") != std::string::npos) std::abort();
  if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos) std::abort();
  if (path.ends_with("/.") || path.ends_with("/..")) std::abort();
  // The result goes upstream as the request target's path (client_session.cc: path + '?' +
  // query), so it must not be able to end or split that line or move the query: no control
  // byte, space, DEL or non-ASCII byte, no '#' and no '?' (those stay percent-encoded).
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '#' || c == '?') std::abort();
  }
  // Every escape left is well formed, upper-case, and not of an unreserved character (those are
  // decoded), nor of NUL, nor of '/' or a backslash unless the options keep them.
  for (std::size_t i = path.find('%'); i != std::string::npos; i = path.find('%', i + 1)) {
    const auto upper_hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
    if (i + 2 >= path.size() || !upper_hex(path[i + 1]) || !upper_hex(path[i + 2])) std::abort();
    const auto nibble = [](char h) { return h <= '9' ? h - '0' : h - 'A' + 10; };
    const auto decoded = static_cast<unsigned char>(nibble(path[i + 1]) * 16 + nibble(path[i + 2]));
    const bool unreserved = (decoded >= 'a' && decoded <= 'z') || (decoded >= 'A' && decoded <= 'Z') ||
                            (decoded >= '0' && decoded <= '9') || decoded == '-' || decoded == '.' ||
                            decoded == '_' || decoded == '~';
    if (unreserved || decoded == 0) std::abort();
    if (decoded == '/' && !options.allow_encoded_slash) std::abort();
    if (decoded == '\\' && !options.allow_backslash) std::abort();
  }
  if (!options.allow_backslash && path.find('\\') != std::string::npos) std::abort();
  if (!options.allow_path_parameters && path.find(';') != std::string::npos) std::abort();
  auto again = normalize_path(path, options);
  if (!again || *again != path) std::abort();

  auto match = table().match(method, host, path);
  auto trace = table().explain_match(method, host, path);
  const bool traced_match = !trace.empty() && trace.back().miss == RouteMiss::None;
  if (match.has_value() != traced_match) std::abort();
  if (match && match->route != trace.back().route) std::abort();
  (void)matches_path_prefix(raw_path, path);
  return 0;
}
