#include "jwt/token.h"

namespace claimgate::jwt {

Result<TokenSegments, Error> split_token(std::string_view token, std::size_t max_bytes) {
  if (token.size() > max_bytes) return fail(Error::TokenTooLarge);
  const auto first = token.find('.');
  if (first == std::string_view::npos) return fail(Error::Malformed);
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return fail(Error::Malformed);
  }
  TokenSegments out{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1),
                    token.substr(0, second)};
  if (out.header.empty() || out.payload.empty()) return fail(Error::Malformed);
  return out;
}

}  // namespace claimgate::jwt
