#pragma once
// Why a TLS handshake failed, as stable snake_case names: with an upstream (the log's `reason`
// and the label of claimgate_upstream_tls_failures_total), and with a client of a TLS listener
// (claimgate_tls_handshakes_total).
#include <string_view>

namespace claimgate::tls {

enum class HandshakeError {
  CertificateExpired,
  CertificateNotYetValid,
  NameMismatch,     // the certificate names neither server_name nor the URL's host
  UnknownCa,        // the chain does not lead to ca_file (or the system bundle)
  BadCertificate,   // any other verification failure (purpose, signature, ...)
  PeerAlert,        // the upstream refused us: no or unknown client certificate, protocol version
  ProtocolError,    // not TLS, or broken TLS (e.g. an https:// URL aimed at a plain HTTP port)
  ConnectionClosed,
  Timeout,
};

std::string_view to_string(HandshakeError error);

// From a failed handshake (or a fresh connection's first read): `verify_result` is
// SSL_get_verify_result (X509_V_OK when the certificate was not the problem), `ssl_error` the
// OpenSSL error code the operation failed with.
HandshakeError classify_failure(long verify_result, unsigned long ssl_error);

// Why a TLS listener's handshake with a client failed, from the OpenSSL error code (as Asio's
// ssl error category carries it): plaintext_http, protocol_version, no_shared_cipher,
// no_application_protocol, no_client_certificate, bad_client_certificate, or tls_error.
std::string_view client_handshake_failure(unsigned long openssl_error);

// OpenSSL's text for a verify result, e.g. "certificate has expired", "hostname mismatch".
std::string_view verify_error_string(long verify_result);

}  // namespace claimgate::tls
