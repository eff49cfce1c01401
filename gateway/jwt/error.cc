#include "jwt/error.h"

namespace claimgate::jwt {

std::string_view to_string(Error error) {
  switch (error) {
    case Error::Malformed: return "malformed";
    case Error::TokenTooLarge: return "token_too_large";
    case Error::BadBase64: return "bad_base64";
    case Error::BadJson: return "bad_json";
    case Error::JsonTooDeep: return "json_too_deep";
    case Error::DuplicateMember: return "duplicate_member";
    case Error::MissingAlg: return "missing_alg";
    case Error::AlgNone: return "alg_none";
    case Error::AlgNotAllowed: return "alg_not_allowed";
    case Error::AlgKeyMismatch: return "alg_key_mismatch";
    case Error::UnsupportedCrit: return "unsupported_crit";
    case Error::UnknownKid: return "unknown_kid";
    case Error::BadSignature: return "bad_signature";
    case Error::MissingIssuer: return "missing_issuer";
    case Error::WrongIssuer: return "wrong_issuer";
    case Error::BadSubject: return "bad_subject";
    case Error::MissingExp: return "missing_exp";
    case Error::BadExp: return "bad_exp";
    case Error::BadNbf: return "bad_nbf";
    case Error::BadIat: return "bad_iat";
    case Error::Expired: return "expired";
    case Error::NotYetValid: return "not_yet_valid";
    case Error::IssuedInFuture: return "issued_in_future";
    case Error::LifetimeTooLong: return "lifetime_too_long";
    case Error::WrongAudience: return "wrong_audience";
    case Error::MissingRequiredClaim: return "missing_required_claim";
  }
  return "malformed";
}

std::string_view describe(Error error) {
  switch (error) {
    case Error::Malformed: return "The token is not a compact JWS of three non-empty base64url segments.";
    case Error::TokenTooLarge: return "The token is longer than the configured size limit.";
    case Error::BadBase64: return "A token segment is not strict base64url (no padding, whitespace, '+' or '/').";
    case Error::BadJson: return "The token header or payload is not a valid JSON object.";
    case Error::JsonTooDeep: return "The token header or payload nests JSON deeper than the limit.";
    case Error::DuplicateMember: return "The token header or payload repeats a member name.";
    case Error::MissingAlg: return "The token header has no string \"alg\".";
    case Error::AlgNone: return "The token is unsecured (alg \"none\"), which is never accepted.";
    case Error::AlgNotAllowed: return "The token's algorithm is not in the provider's allow-list.";
    case Error::AlgKeyMismatch: return "The selected key cannot be used with the token's algorithm.";
    case Error::UnsupportedCrit: return "The token header marks an extension critical (\"crit\") that is not supported.";
    case Error::UnknownKid: return "The token's kid (or its absence) does not select exactly one key of the provider.";
    case Error::BadSignature: return "The token's signature does not verify under the selected key.";
    case Error::MissingIssuer: return "The token has no \"iss\" claim.";
    case Error::WrongIssuer: return "The token's \"iss\" is not the provider's issuer.";
    case Error::BadSubject: return "The token's \"sub\" claim is not a string.";
    case Error::MissingExp: return "The token has no \"exp\" claim, which the provider requires.";
    case Error::BadExp: return "The token's \"exp\" claim is not a number.";
    case Error::BadNbf: return "The token's \"nbf\" claim is not a number.";
    case Error::BadIat: return "The token's \"iat\" claim is not a number.";
    case Error::Expired: return "The token has expired.";
    case Error::NotYetValid: return "The token is not valid yet (\"nbf\" is in the future).";
    case Error::IssuedInFuture: return "The token's \"iat\" is in the future.";
    case Error::LifetimeTooLong: return "The token's lifetime is longer than the provider allows.";
    case Error::WrongAudience: return "The token's \"aud\" names none of the provider's audiences.";
    case Error::MissingRequiredClaim: return "The token lacks a claim the provider requires.";
  }
  return "The token is malformed.";
}

}  // namespace claimgate::jwt
