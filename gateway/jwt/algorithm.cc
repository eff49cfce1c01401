#include "jwt/algorithm.h"

#include <algorithm>
#include <array>

#include "core/ascii.h"

namespace claimgate::jwt {
namespace {
constexpr std::array kAll = {Algorithm::HS256, Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::RS384,
                             Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512, Algorithm::ES256,
                             Algorithm::ES384, Algorithm::ES512, Algorithm::EdDSA};
}  // namespace

std::string_view to_string(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS256: return "HS256";
    case Algorithm::HS384: return "HS384";
    case Algorithm::HS512: return "HS512";
    case Algorithm::RS256: return "RS256";
    case Algorithm::RS384: return "RS384";
    case Algorithm::RS512: return "RS512";
    case Algorithm::PS256: return "PS256";
    case Algorithm::PS384: return "PS384";
    case Algorithm::PS512: return "PS512";
    case Algorithm::ES256: return "ES256";
    case Algorithm::ES384: return "ES384";
    case Algorithm::ES512: return "ES512";
    case Algorithm::EdDSA: return "EdDSA";
  }
  return "EdDSA";
}

std::optional<Algorithm> parse_algorithm(std::string_view name) {
  for (Algorithm alg : kAll) {
    if (to_string(alg) == name) return alg;
  }
  return std::nullopt;
}

bool is_none_algorithm(std::string_view name) {
  return ascii::iequals(name, "none");
}

bool is_hmac(Algorithm alg) { return alg == Algorithm::HS256 || alg == Algorithm::HS384 || alg == Algorithm::HS512; }

Result<std::vector<Algorithm>, std::string> validate_algorithm_list(std::span<const std::string> names) {
  if (names.empty()) return fail(std::string("the algorithm list is empty"));
  std::vector<Algorithm> out;
  for (const std::string& name : names) {
    if (is_none_algorithm(name)) return fail("algorithm \"" + name + "\" is never accepted");
    const auto alg = parse_algorithm(name);
    if (!alg) return fail("unsupported algorithm \"" + name + "\"");
    if (std::ranges::find(out, *alg) != out.end()) return fail("algorithm \"" + name + "\" is listed twice");
    out.push_back(*alg);
  }
  const bool any_hmac = std::ranges::any_of(out, is_hmac);
  const bool any_asymmetric = !std::ranges::all_of(out, is_hmac);
  if (any_hmac && any_asymmetric) {
    return fail(std::string("HS* algorithms cannot be mixed with asymmetric algorithms in one provider"));
  }
  return out;
}

}  // namespace claimgate::jwt
