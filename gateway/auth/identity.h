#pragma once
// A verified token as the request path uses it: the claims, which provider vouched for them,
// and that provider's roles and scopes already normalised into lists. Built once per
// verification and shared by the token cache.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "jwt/verify.h"

namespace claimgate::auth {

struct Identity {
  jwt::VerifiedToken token;
  std::size_t provider = 0;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::string payload_segment;  // the token's base64url payload when a payload header is configured, else empty
};

using IdentityPtr = std::shared_ptr<const Identity>;

}  // namespace claimgate::auth
