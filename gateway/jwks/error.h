#pragma once
// JWKS failures. The first group fails a whole key set or file; the second names why one key
// was skipped (logged; the rest of the set is kept). jwt::KeyError names the remaining reasons
// a key is skipped, found once its material is decoded.
#include <string_view>

namespace claimgate::jwks {

enum class Error {
  NotJson,
  NoKeysArray,
  DuplicateMember,
  FileUnreadable,
  FileTooLarge,
  SecretTooShort,
  // Per key:
  NotAnObject,
  BadMember,
  MissingMember,
  NonMinimalInteger,
  UnsupportedKty,
  UnsupportedCurve,
  UnsupportedAlg,
  OctFromNetwork,
  NotForSignatures,
};

std::string_view to_string(Error error);
std::string_view describe(Error error);

}  // namespace claimgate::jwks
