#pragma once
// JWS algorithms (RFC 7518 section 3, RFC 8037 section 3.1) and the provider allow-list rules.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace claimgate::jwt {

enum class Algorithm { HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA };

std::string_view to_string(Algorithm alg);

// Exact, case-sensitive JWS name ("RS256"); nullopt for anything else, "none" included.
std::optional<Algorithm> parse_algorithm(std::string_view name);

// "none" in any letter case (RFC 8725 section 2.1).
bool is_none_algorithm(std::string_view name);

bool is_hmac(Algorithm alg);

// Checks a provider's configured allow-list: not empty, every name a supported JWS algorithm,
// no repeats, and HS* never mixed with asymmetric algorithms (an HMAC secret and a public key
// must not be interchangeable). The error is a sentence for --check-config.
Result<std::vector<Algorithm>, std::string> validate_algorithm_list(std::span<const std::string> names);

}  // namespace claimgate::jwt
