#pragma once
// `claimgate explain --config FILE --method GET --path /admin/x [--host H] [--token T]
//                   [--header 'Name: v' ...] [--cookie 'n=v' ...] [--jwks-file F] [--client-cert PEM]
//                   [--now UNIX_S] [--json]`
//
// Answers "why did the gateway answer this request that way?" without starting a server. It builds
// what the gateway builds (Config, RouteTable, Authenticator over ProviderKeys) and prints, step by
// step: the normalised path (or why it is rejected), each route up to the first match and why it did
// not match, the token source used, the decoded (unverified) token header and claims, the provider
// and its keys, the verification result with its reason name, each requirement with pass/fail and the
// claim values it looked at, the status and WWW-Authenticate the gateway would answer (from
// auth::decide() and the auth::reply_* functions themselves), and the X-User-* headers it would inject.
//
// - --token T goes where the gateway looks first: the first configured token source (for the default,
//   "Authorization: Bearer T"). --header and --cookie add raw request headers; a query string in
//   --path is the request's query (so a query token source can be tried too).
// - Keys are fetched as the gateway fetches them: every provider's first attempt, bounded by
//   startup_timeout_ms. With --jwks-file the provider selected by the token's "iss" reads that file
//   instead, and no other provider fetches anything (offline).
// - --client-cert takes a PEM certificate as the one a TLS listener verified on the connection
//   (client_certificate requirements, certificate-bound tokens).
// - --now fixes the clock for exp/nbf/iat checks (default: the current time).
// - The token's signature and key material are never printed; decoded header and claims are.
// - --json prints one JSON object with the same facts, for scripts.
#include <string_view>
#include <vector>

namespace claimgate::tools {

// `args` exclude the subcommand. Returns the process exit code: 0 once explained (whatever the
// gateway's answer), 1 when the config or a file cannot be loaded, 2 on usage errors.
int run_explain(const std::vector<std::string_view>& args);

}  // namespace claimgate::tools
