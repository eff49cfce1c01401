// auth::find_tokens over header, cookie and query sources, then remove_cookie and
// remove_query_parameter, as strip_token does. Stripping oracle: after remove_cookie, find_tokens
// over the stripped Cookie headers finds no cookie of that name (and finds the other cookie as
// before); after remove_query_parameter, neither find_tokens nor a plain split finds the parameter.
// Input: "name: value" header lines up to an empty line, then the query string.
#include <cstdlib>
#include <optional>
#include <string>

#include "auth/token_sources.h"
#include "fuzz_input.h"
#include "http/request_head.h"

using namespace claimgate;
using namespace claimgate::auth;

namespace {
const std::vector<TokenSource> kSources{{TokenSource::Kind::Header, "Authorization", "Bearer "},
                                        {TokenSource::Kind::Header, "X-Token", ""},
                                        {TokenSource::Kind::Cookie, "access_token", ""},
                                        {TokenSource::Kind::Cookie, "session", ""},
                                        {TokenSource::Kind::Query, "access_token", ""}};

using Headers = std::vector<std::pair<std::string_view, std::string_view>>;

// What find_tokens reports for one cookie name alone: the token, nullopt, or the error.
struct CookieLookup {
  bool ok;
  std::optional<std::string> token;
  ExtractionError error{};
  friend bool operator==(const CookieLookup&, const CookieLookup&) = default;
};

CookieLookup find_cookie(std::string_view name, const Headers& headers) {
  const TokenSource source{TokenSource::Kind::Cookie, std::string(name), ""};
  auto found = find_tokens(std::span(&source, 1), headers, {});
  if (!found) return {false, std::nullopt, found.error()};
  if (found->size() > 1) std::abort();
  if (found->empty()) return {true, std::nullopt};
  return {true, std::string((*found)[0].token)};
}

// remove_cookie(name) on every Cookie header, dropping those left empty, as forwarding.cc does.
// The result must hold no cookie called `name`, and any other cookie reads as it did before.
void check_cookie_stripping(const Headers& headers, std::string_view name, std::string_view other) {
  Headers cookies;
  std::vector<std::string> stripped;
  stripped.reserve(headers.size());
  for (const auto& [header_name, value] : headers) {
    if (!http::iequals(header_name, "cookie")) continue;
    cookies.emplace_back(header_name, value);
    stripped.push_back(remove_cookie(value, name));
  }
  Headers after;
  for (const std::string& value : stripped) {
    if (!value.empty()) after.emplace_back("Cookie", value);
  }
  // Not found, and no error either: an error would mean a cookie of that name is still there.
  if (find_cookie(name, after) != CookieLookup{true, std::nullopt}) std::abort();
  if (find_cookie(other, cookies) != find_cookie(other, after)) std::abort();
}

// The parameters of a query as find_tokens and remove_query_parameter split it.
std::vector<std::string_view> query_pairs(std::string_view query) {
  std::vector<std::string_view> pairs;
  while (true) {
    const auto amp = query.find('&');
    pairs.push_back(query.substr(0, amp));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return pairs;
}

void check_query_stripping(std::string_view query, std::string_view name) {
  const std::string q = remove_query_parameter(query, name);
  const TokenSource source{TokenSource::Kind::Query, std::string(name), ""};
  auto found = find_tokens(std::span(&source, 1), Headers{}, q);
  if (!found || !found->empty()) std::abort();
  // The other non-empty parameters stay, in order, and no "name" or "name=..." is left.
  std::vector<std::string_view> kept;
  for (std::string_view pair : query_pairs(query)) {
    if (!pair.empty() && pair.substr(0, pair.find('=')) != name) kept.push_back(pair);
  }
  if (q.empty() ? !kept.empty() : query_pairs(q) != kept) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_view(data, size));
  std::string_view input = text;
  Headers headers;
  while (!input.empty()) {
    std::string_view line = fuzz::take_field(input);
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.emplace_back(line.substr(0, colon), value);
  }
  const std::string_view query = input;

  auto found = find_tokens(kSources, headers, query);
  if (found) {
    for (const auto& token : *found) {
      if (token.source_index >= kSources.size() || token.token.empty()) std::abort();
      // A token is a view into the request, never a copy.
      const char* begin = text.data();
      if (token.token.data() < begin || token.token.data() + token.token.size() > begin + text.size()) std::abort();
    }
  }
  for (const auto& [name, value] : headers) {
    if (!http::iequals(name, "cookie")) continue;
    // The rest is re-serialised ("a;b" becomes "a; b"), so it may be longer than the input.
    std::string stripped = remove_cookie(value, "access_token");
    // Removing again finds nothing more to remove.
    if (remove_cookie(stripped, "access_token") != stripped) std::abort();
  }
  std::string q = remove_query_parameter(query, "access_token");
  if (q.size() > query.size()) std::abort();
  check_cookie_stripping(headers, "access_token", "session");
  check_cookie_stripping(headers, "session", "access_token");
  check_query_stripping(query, "access_token");
  return 0;
}
