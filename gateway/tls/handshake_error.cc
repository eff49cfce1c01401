#include "tls/handshake_error.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace claimgate::tls {

std::string_view to_string(HandshakeError error) {
  switch (error) {
    case HandshakeError::CertificateExpired: return "certificate_expired";
    case HandshakeError::CertificateNotYetValid: return "certificate_not_yet_valid";
    case HandshakeError::NameMismatch: return "name_mismatch";
    case HandshakeError::UnknownCa: return "unknown_ca";
    case HandshakeError::BadCertificate: return "bad_certificate";
    case HandshakeError::PeerAlert: return "peer_alert";
    case HandshakeError::ProtocolError: return "protocol_error";
    case HandshakeError::ConnectionClosed: return "connection_closed";
    case HandshakeError::Timeout: return "timeout";
  }
  return "protocol_error";
}

HandshakeError classify_failure(long verify_result, unsigned long ssl_error) {
  switch (verify_result) {
    case X509_V_OK: break;
    case X509_V_ERR_CERT_HAS_EXPIRED: return HandshakeError::CertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID: return HandshakeError::CertificateNotYetValid;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return HandshakeError::NameMismatch;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return HandshakeError::UnknownCa;
    default: return HandshakeError::BadCertificate;
  }
  // Reasons from SSL_AD_REASON_OFFSET up are alerts the peer sent (SSL_R_SSLV3_ALERT_*, SSL_R_TLSV1*_ALERT_*).
  if (ERR_GET_LIB(ssl_error) == ERR_LIB_SSL && ERR_GET_REASON(ssl_error) >= SSL_AD_REASON_OFFSET)
    return HandshakeError::PeerAlert;
  return HandshakeError::ProtocolError;
}

std::string_view client_handshake_failure(unsigned long openssl_error) {
  switch (ERR_GET_REASON(openssl_error)) {
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
      return "plaintext_http";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
      return "no_shared_cipher";
    case SSL_R_NO_APPLICATION_PROTOCOL:
      return "no_application_protocol";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return "bad_client_certificate";
    default:
      return "tls_error";
  }
}

std::string_view verify_error_string(long verify_result) { return X509_verify_cert_error_string(verify_result); }

}  // namespace claimgate::tls
