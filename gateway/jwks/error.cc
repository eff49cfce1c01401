#include "jwks/error.h"

namespace claimgate::jwks {

std::string_view to_string(Error error) {
  switch (error) {
    case Error::NotJson: return "not_json";
    case Error::NoKeysArray: return "no_keys_array";
    case Error::DuplicateMember: return "duplicate_member";
    case Error::FileUnreadable: return "file_unreadable";
    case Error::FileTooLarge: return "file_too_large";
    case Error::SecretTooShort: return "secret_too_short";
    case Error::NotAnObject: return "not_an_object";
    case Error::BadMember: return "bad_member";
    case Error::MissingMember: return "missing_member";
    case Error::NonMinimalInteger: return "non_minimal_integer";
    case Error::UnsupportedKty: return "unsupported_kty";
    case Error::UnsupportedCurve: return "unsupported_curve";
    case Error::UnsupportedAlg: return "unsupported_alg";
    case Error::OctFromNetwork: return "oct_from_network";
    case Error::NotForSignatures: return "not_for_signatures";
  }
  return "not_json";
}

std::string_view describe(Error error) {
  switch (error) {
    case Error::NotJson: return "The key set is not valid JSON.";
    case Error::NoKeysArray: return "The key set is not a JSON object with a \"keys\" array.";
    case Error::DuplicateMember: return "A member name repeats in the key set or in one key.";
    case Error::FileUnreadable: return "The key file cannot be read.";
    case Error::FileTooLarge: return "The key file is larger than the limit.";
    case Error::SecretTooShort: return "The HMAC secret file holds fewer than 32 bytes.";
    case Error::NotAnObject: return "A \"keys\" entry is not a JSON object.";
    case Error::BadMember: return "A key member has the wrong JSON type or is not strict base64url.";
    case Error::MissingMember: return "A key lacks a member its key type requires.";
    case Error::NonMinimalInteger: return "An RSA integer has leading zero octets (RFC 7518 section 6.3.1).";
    case Error::UnsupportedKty: return "The key type is not RSA, EC, OKP or oct.";
    case Error::UnsupportedCurve: return "The curve is not P-256, P-384, P-521 or Ed25519.";
    case Error::UnsupportedAlg: return "The key's \"alg\" is not a supported JWS algorithm.";
    case Error::OctFromNetwork: return "A symmetric (oct) key came from a fetched key set; only local files may hold them.";
    case Error::NotForSignatures: return "The key's \"use\" or \"key_ops\" does not allow verifying signatures.";
  }
  return "The key set is invalid.";
}

}  // namespace claimgate::jwks
