#pragma once
// `claimgate mint --key DIR/private.jwk --iss ISS [--sub S] [--aud A ...] [--ttl-s N]
//                 [--claim name=value ...] [--claim-json name=JSON ...] [--scope "a b"] [--roles r1,r2]`
//
// Prints one compact JWS signed with the private JWK that `claimgate keygen` wrote (header
// alg, typ JWT, kid). Claims in order: iss, sub, aud (a string, or an array when --aud repeats),
// iat = now, exp = now + ttl (default 3600; 0 or negative make an already expired token),
// "roles" (array, from --roles split on commas), "scopes" (array, from --scope split on spaces:
// the gateway's default roles_claim and scopes_claim), then --claim (string values) and
// --claim-json (any JSON value) in command-line order. A name given again replaces the earlier
// value in place, so `--claim-json exp=1` overrides the computed exp. Names are top-level member
// names; build nested claims with --claim-json permissions='{"pma":{"role":"admin"}}'.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/claims.h"
#include "core/result.h"

namespace claimgate::tools {

struct MintOptions {
  std::string key_path;
  std::string issuer;
  std::optional<std::string> subject;
  std::vector<std::string> audiences;
  std::int64_t ttl_s = 3600;
  std::optional<std::vector<std::string>> roles;
  std::optional<std::vector<std::string>> scopes;
  ClaimValue::Object extra;  // --claim and --claim-json, in order, names unique (last wins)
};

// The error is a sentence for stderr.
Result<MintOptions, std::string> parse_mint_args(const std::vector<std::string_view>& args);

// The token's claims at `now_unix_s`.
ClaimValue::Object mint_claims(const MintOptions& options, std::int64_t now_unix_s);

// `args` exclude the subcommand. Returns the process exit code: 0, 1 on failure, 2 on usage.
int run_mint(const std::vector<std::string_view>& args);

}  // namespace claimgate::tools
