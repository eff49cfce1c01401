#pragma once
// A TLS listener's settings as plain values (config/ fills them, tls::ServerContext builds from them).
#include <string>
#include <vector>

namespace claimgate::tls {

struct CertificateFiles {
  std::string cert_file;  // PEM: the leaf, then its chain
  std::string key_file;   // PEM private key
};

enum class ClientVerify { Required, Optional };

struct ServerSettings {
  // The first is the default; the others are picked by SNI from their SAN DNS names.
  std::vector<CertificateFiles> certificates;
  int min_version = 12;  // 12 (TLS 1.2) or 13 (TLS 1.3)
  std::string client_ca_file;  // set: clients are asked for a certificate that chains to it (mTLS)
  ClientVerify verify_client = ClientVerify::Required;
};

}  // namespace claimgate::tls
