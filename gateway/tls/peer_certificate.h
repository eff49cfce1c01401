#pragma once
// What the gateway passes on and checks of a client certificate that the handshake verified.
#include <openssl/types.h>

#include <optional>

#include "core/result.h"
#include <string>
#include <vector>

namespace claimgate::tls {

struct PeerCertificate {
  std::string sha256_hex;   // of the DER encoding
  std::string thumbprint;   // RFC 8705 x5t#S256: base64url of the same digest
  std::string subject;      // RFC 2253, e.g. "CN=svc,O=example"
  std::vector<std::string> uris;  // SAN URIs (SPIFFE IDs)
  std::vector<std::string> dns;   // SAN DNS names
};

// The peer's certificate when it presented one and it verified; nothing otherwise.
std::optional<PeerCertificate> verified_peer_certificate(const SSL* ssl);

// The first certificate of a PEM file, described as if a handshake had verified it (for
// `claimgate explain --client-cert`); the error names the file.
Result<PeerCertificate, std::string> read_certificate_file(const std::string& path);

// Envoy's X-Forwarded-Client-Cert element: Hash=...;Subject="...";URI=...;DNS=...
std::string forwarded_client_cert(const PeerCertificate& certificate);

}  // namespace claimgate::tls
