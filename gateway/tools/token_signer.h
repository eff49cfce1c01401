#pragma once
// A signing key and the compact JWS it makes: what `claimgate keygen` writes, what `claimgate
// mint` and the demo sign with. EdDSA (Ed25519, libsodium) and ES256 (P-256, OpenSSL EVP).
//
// The private key file is a private JWK (RFC 7517 / RFC 8037), one JSON object:
//   EdDSA: {"kty":"OKP","crv":"Ed25519","x":<public 32 bytes>,"d":<seed 32 bytes>,"kid","alg","use"}
//   ES256: {"kty":"EC","crv":"P-256","x","y":<32 bytes each>,"d":<scalar 32 bytes>,"kid","alg","use"}
// The public JWK is the same object without "d".
#include <memory>
#include <string>
#include <string_view>

#include "core/claims.h"
#include "core/result.h"
#include "jwt/algorithm.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY; kept out of this header

namespace claimgate::tools {

class TokenSigner {
 public:
  // A fresh key pair. Only EdDSA and ES256 are supported; anything else is an error sentence.
  static Result<TokenSigner, std::string> generate(jwt::Algorithm alg, std::string kid);

  // From the text of a private JWK as described above. "alg" is optional in the file (the key
  // type decides it); when present it must agree with the key type.
  static Result<TokenSigner, std::string> from_private_jwk(std::string_view json);

  jwt::Algorithm algorithm() const { return alg_; }
  const std::string& kid() const { return kid_; }

  std::string private_jwk() const;  // one JSON object, with "d"
  std::string public_jwk() const;   // the same without "d"
  std::string public_jwks() const;  // {"keys":[public_jwk]}

  // header {"alg","typ":"JWT","kid"} . claims . signature, all base64url without padding.
  Result<std::string, std::string> sign(const ClaimValue::Object& claims) const;

  // Signs `signing_input` ("header.payload") and returns the raw JWS signature: 64 bytes for
  // both algorithms (Ed25519 signature, or ES256 R||S each padded to 32 bytes).
  Result<std::string, std::string> sign_raw(std::string_view signing_input) const;

 private:
  TokenSigner() = default;
  std::string jwk_members(bool with_private) const;
  Result<std::string, std::string> thumbprint() const;  // RFC 7638, base64url

  jwt::Algorithm alg_ = jwt::Algorithm::EdDSA;
  std::string kid_;
  // EdDSA: libsodium's 64-byte secret key (seed || public key) and the 32-byte public key.
  std::string ed_secret_;
  std::string ed_public_;
  // ES256: the OpenSSL key pair, shared between copies (it is never mutated).
  std::shared_ptr<evp_pkey_st> ec_key_;
};

}  // namespace claimgate::tools
