#pragma once
// What the gateway does with a request once its route is known: forward it (with or without an
// identity), answer it (401/403/400/503), wait briefly for an unknown-kid key refetch, or (when
// the caller allows it) come back later because a token needs a signature check.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "auth/token_sources.h"
#include "http/local_reply.h"
#include "policy/requirement.h"
#include "policy/route_table.h"

namespace claimgate::auth {

struct RequestFacts {
  std::string_view method;
  HeaderList headers;
  std::string_view query;
  const std::vector<std::string>* captures = nullptr;  // from the route match
  // The connection's verified client certificate (TLS listeners with client_ca_file), or none;
  // its RFC 8705 thumbprint (base64url SHA-256) for certificate-bound tokens.
  const policy::ClientCertificate* client_certificate = nullptr;
  std::string_view certificate_thumbprint;
  bool websocket_handshake = false;                    // see TokenRequest
};

struct AuthDecision {
  enum class Action { Forward, Reply, WaitForKeys, VerifyLater };
  Action action = Action::Reply;
  http::LocalReply reply;         // Reply
  IdentityPtr identity;           // Forward: the verified identity, or null (anonymous)
  std::size_t provider = 0;       // WaitForKeys
  std::string_view outcome;       // allow, anonymous, missing_token, invalid_token, forbidden, ...
  std::string_view reason;        // a stable reason name for logs and metrics
  std::vector<FoundToken> tokens; // what was found, for strip_token
  std::string protocol_token;     // a websocket_protocol token, decoded (a found token views it)
};

// `may_wait` is false on the retry after a key refetch, so a request waits at most once.
// `may_verify_later`: a token that is not in the verified-token cache makes the answer
// VerifyLater before any signature work; the caller decides again, with it false, once it has
// gathered other such requests, so that signature checks run back to back.
AuthDecision decide(TokenVerifier& verifier, const policy::RouteSpec& route, const RequestFacts& request,
                    std::int64_t now_unix_s, bool may_wait, bool may_verify_later = false);
// The same into `out`, whose token list keeps its capacity from request to request.
void decide(TokenVerifier& verifier, const policy::RouteSpec& route, const RequestFacts& request,
            std::int64_t now_unix_s, bool may_wait, AuthDecision& out, bool may_verify_later = false);

// RFC 6750 answers, built in one place.
http::LocalReply reply_missing_token();
http::LocalReply reply_invalid_token(std::string_view reason);
http::LocalReply reply_invalid_request(std::string_view reason, std::string_view description);
http::LocalReply reply_insufficient_scope(std::string_view reason, const std::vector<std::string>& scopes);

}  // namespace claimgate::auth
