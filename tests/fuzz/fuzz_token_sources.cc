// auth::find_tokens over header, cookie and query sources, then remove_cookie and
// remove_query_parameter, as strip_token does. Input: "name: value" header lines up to an empty
// line, then the query string.
#include <cstdlib>

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
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_view(data, size));
  std::string_view input = text;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
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
  return 0;
}
