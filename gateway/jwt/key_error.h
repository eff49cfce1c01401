#pragma once
// Why key material was refused when a Key was built (logged when a JWKS entry is skipped).
#include <string_view>

namespace claimgate::jwt {

enum class KeyError {
  RsaModulusTooSmall,
  RsaModulusTooLarge,
  BadRsaKey,
  BadCoordinateLength,
  PointNotOnCurve,
  BadEd25519Key,
  HmacSecretTooShort,
  AlgNotForKey,
};

std::string_view to_string(KeyError error);
std::string_view describe(KeyError error);

}  // namespace claimgate::jwt
