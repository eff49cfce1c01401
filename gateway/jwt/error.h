#pragma once
// Why a token was refused. The names are stable: they appear in 401 descriptions, logs and
// metric labels, so rename none of them.
#include <string_view>

namespace claimgate::jwt {

enum class Error {
  Malformed,
  TokenTooLarge,
  BadBase64,
  BadJson,
  JsonTooDeep,
  DuplicateMember,
  MissingAlg,
  AlgNone,
  AlgNotAllowed,
  AlgKeyMismatch,
  UnsupportedCrit,
  UnknownKid,
  BadSignature,
  MissingIssuer,
  WrongIssuer,
  BadSubject,
  MissingExp,
  BadExp,
  BadNbf,
  BadIat,
  Expired,
  NotYetValid,
  IssuedInFuture,
  LifetimeTooLong,
  WrongAudience,
  MissingRequiredClaim,
};

std::string_view to_string(Error error);
std::string_view describe(Error error);

}  // namespace claimgate::jwt
