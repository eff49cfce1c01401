#pragma once
// The signature layer alone: no header, no claims. verify() calls it; the RFC vectors whose
// payloads are not JWT claims are checked through it directly.
#include <string_view>

#include "core/result.h"
#include "jwt/algorithm.h"
#include "jwt/error.h"
#include "jwt/key.h"

namespace claimgate::jwt {

// `signature` is the decoded third segment; `signing_input` is "header.payload" as sent.
// AlgKeyMismatch when the key cannot be used with `alg`, BadSignature for any other failure.
Result<void, Error> verify_signature(Algorithm alg, const Key& key, std::string_view signing_input,
                                     std::string_view signature);

}  // namespace claimgate::jwt
