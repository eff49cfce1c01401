#include "jwt/key_error.h"

namespace claimgate::jwt {

std::string_view to_string(KeyError error) {
  switch (error) {
    case KeyError::RsaModulusTooSmall: return "rsa_modulus_too_small";
    case KeyError::RsaModulusTooLarge: return "rsa_modulus_too_large";
    case KeyError::BadRsaKey: return "bad_rsa_key";
    case KeyError::BadCoordinateLength: return "bad_coordinate_length";
    case KeyError::PointNotOnCurve: return "point_not_on_curve";
    case KeyError::BadEd25519Key: return "bad_ed25519_key";
    case KeyError::HmacSecretTooShort: return "hmac_secret_too_short";
    case KeyError::AlgNotForKey: return "alg_not_for_key";
  }
  return "bad_rsa_key";
}

std::string_view describe(KeyError error) {
  switch (error) {
    case KeyError::RsaModulusTooSmall: return "The RSA modulus is shorter than 2048 bits.";
    case KeyError::RsaModulusTooLarge: return "The RSA modulus is longer than 8192 bits.";
    case KeyError::BadRsaKey: return "The RSA modulus or exponent is not a valid public key.";
    case KeyError::BadCoordinateLength: return "An EC coordinate is not exactly the curve's field size.";
    case KeyError::PointNotOnCurve: return "The EC public point is not on the named curve.";
    case KeyError::BadEd25519Key: return "The Ed25519 public key is not 32 bytes encoding a valid point.";
    case KeyError::HmacSecretTooShort: return "The HMAC secret is shorter than 32 bytes (RFC 7518 section 3.2).";
    case KeyError::AlgNotForKey: return "The key declares an \"alg\" that its key type cannot be used with.";
  }
  return "The key is invalid.";
}

}  // namespace claimgate::jwt
