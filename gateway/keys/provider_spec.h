#pragma once
// One trusted issuer, as configured: where its keys come from, how its tokens are checked, and
// where its roles and scopes live in the claims.
#include <cstdint>
#include <string>
#include <vector>

#include "jwt/verify.h"

namespace claimgate::keys {

enum class KeySourceKind { JwksUrl, JwksFile, HmacSecretFile };

struct HttpUrl {
  bool tls = true;
  std::string host;
  std::uint16_t port = 443;
  std::string target = "/";  // path and query
};

// RFC 8705 certificate-bound tokens: Off ignores cnf.x5t#S256; WhenPresent checks it when the
// token has one; Required refuses tokens without it. A checked thumbprint must equal the
// SHA-256 thumbprint of the connection's verified client certificate.
enum class CertificateBinding { Off, WhenPresent, Required };

struct ProviderSpec {
  std::string name;
  KeySourceKind source = KeySourceKind::JwksUrl;
  std::string jwks_url;
  HttpUrl url;  // parsed jwks_url
  std::string jwks_file;
  std::string hmac_secret_file;
  bool allow_insecure_http = false;
  std::string ca_file;  // empty: the system CA bundle

  jwt::VerifyOptions verify;  // issuer, audiences, algorithms, leeway, lifetime, required claims
  std::string roles_claim = "roles";
  std::string scopes_claim = "scopes";
  CertificateBinding certificate_bound = CertificateBinding::Off;

  std::int64_t refresh_interval_s = 300;      // without Cache-Control: max-age
  std::int64_t min_refresh_interval_s = 30;   // floor for max-age, and for unknown-kid refetches
  std::int64_t max_refresh_interval_s = 3600; // ceiling for max-age
  std::int64_t fetch_timeout_ms = 5000;
  std::int64_t max_stale_s = 86400;           // last good keys are served this long after a success
  std::int64_t unknown_kid_wait_ms = 1000;    // how long a request waits on an unknown-kid refetch
};

}  // namespace claimgate::keys
