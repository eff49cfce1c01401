#pragma once
// The X-User-* headers: values computed from a verified identity, and the rule for which
// incoming headers are removed because they could be mistaken for ours.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/auth_settings.h"
#include "auth/identity.h"

namespace claimgate::auth {

// Lower-case with '_' and '.' read as '-': "X_User_Id" and "x.user.id" fold to "x-user-id", as
// backends that map headers to variables would (oauth2-proxy CVE-2025-64484).
std::string fold_header_name(std::string_view name);

class ClaimHeaders {
 public:
  explicit ClaimHeaders(const AuthSettings& settings);

  // True for every header that must never reach the upstream from the client.
  bool is_reserved(std::string_view incoming_name) const;

  // Header -> value for an identity. Rules: strings as-is; integers in decimal; other numbers in
  // shortest round-trip form; booleans true/false; arrays joined with ',' after percent-encoding
  // '%' and ',' inside elements (so the list always splits back exactly); objects as compact JSON.
  // "roles" and "scopes" mean the provider's normalised lists. A value with CR, LF or NUL, and
  // an absent claim, produce no header.
  std::vector<std::pair<std::string, std::string>> values_for(const Identity& identity) const;

 private:
  std::vector<ClaimHeader> headers_;
  std::string payload_header_;
  std::vector<std::string> reserved_folded_;
};

}  // namespace claimgate::auth
