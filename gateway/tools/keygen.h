#pragma once
// `claimgate keygen [--alg EdDSA|ES256] [--kid ID] --out-dir DIR [--force]`
//
// Writes DIR/private.jwk (the private JWK described in tools/token_signer.h, mode 0600; DIR is
// created with mode 0700 when missing) and DIR/jwks.json (the public JWK Set with kid, alg and
// "use":"sig", mode 0644), then prints both paths and the kid on stdout. The default alg is
// EdDSA and the default kid the key's RFC 7638 thumbprint. An existing private.jwk is never
// overwritten unless --force is given.
#include <string>
#include <string_view>
#include <vector>

namespace claimgate::tools {

// `args` exclude the subcommand. Returns the process exit code: 0, 1 on failure, 2 on usage.
int run_keygen(const std::vector<std::string_view>& args);

}  // namespace claimgate::tools
