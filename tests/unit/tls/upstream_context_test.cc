#include "tls/upstream_context.h"

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fstream>

#include "test_certificates.h"
#include "tls/handshake_error.h"

using namespace claimgate::tls;
using claimgate::testing::make_test_certificate;

namespace {
std::string error_of(const UpstreamTlsOptions& options, ContextError::Option expected_option) {
  auto c = UpstreamContext::create(options);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().option == expected_option);
  return c.error().message;
}

std::string sni_of(const UpstreamContext& c) {
  SSL* ssl = c.new_ssl();
  REQUIRE(ssl != nullptr);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::string out = name ? name : "";
  SSL_free(ssl);
  return out;
}
}  // namespace

TEST_CASE("a context from the system bundle or a CA file, with SNI for DNS names only") {
  auto system = UpstreamContext::create({"", "app.internal", "", ""});
  REQUIRE(system.has_value());
  CHECK(sni_of(**system) == "app.internal");
  CHECK_FALSE((*system)->has_client_certificate());
  CHECK(SSL_CTX_get_min_proto_version(const_cast<SSL_CTX*>((*system)->native_handle())) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_verify_mode((*system)->native_handle()) == SSL_VERIFY_PEER);

  const auto cert = make_test_certificate("upstream", "DNS:localhost,IP:127.0.0.1");
  auto by_ip = UpstreamContext::create({cert.cert_file, "127.0.0.1", "", ""});
  REQUIRE(by_ip.has_value());
  CHECK(sni_of(**by_ip) == "");  // RFC 6066: no SNI for an IP literal
  auto v6 = UpstreamContext::create({cert.cert_file, "::1", "", ""});
  REQUIRE(v6.has_value());
  CHECK(sni_of(**v6) == "");

  auto mtls = UpstreamContext::create({cert.cert_file, "localhost", cert.cert_file, cert.key_file});
  REQUIRE(mtls.has_value());
  CHECK((*mtls)->has_client_certificate());
}

TEST_CASE("files that cannot be used name the option and OpenSSL's reason, never their contents") {
  const auto cert = make_test_certificate("client", "DNS:client");
  const auto other = make_test_certificate("other", "DNS:other");
  const std::string absent = cert.dir + "/absent.pem";
  CHECK(error_of({absent, "a", "", ""}, ContextError::Option::CaFile) ==
        "cannot load CA certificates from \"" + absent + "\": No such file or directory");
  // A private key is no CA certificate: the message must not quote it.
  const std::string message = error_of({cert.key_file, "a", "", ""}, ContextError::Option::CaFile);
  CHECK(message.starts_with("cannot load CA certificates from \"" + cert.key_file + "\": "));
  CHECK(message.find("PRIVATE") == std::string::npos);
  CHECK(error_of({"", "a", cert.key_file, cert.key_file}, ContextError::Option::ClientCertFile)
            .starts_with("cannot load a certificate chain from \"" + cert.key_file + "\": "));
  CHECK(error_of({"", "a", cert.cert_file, absent}, ContextError::Option::ClientKeyFile)
            .starts_with("cannot load a private key matching client_cert_file from \"" + absent + "\": "));
  CHECK(error_of({"", "a", cert.cert_file, other.key_file}, ContextError::Option::ClientKeyFile)
            .find(other.key_file) != std::string::npos);

  // An encrypted key fails instead of prompting for a passphrase.
  const std::string encrypted = cert.dir + "/encrypted.key";
  {
    FILE* in = std::fopen(cert.key_file.c_str(), "r");
    EVP_PKEY* key = PEM_read_PrivateKey(in, nullptr, nullptr, nullptr);
    std::fclose(in);
    FILE* out = std::fopen(encrypted.c_str(), "w");
    PEM_write_PrivateKey(out, key, EVP_aes_128_cbc(), nullptr, 0, nullptr, const_cast<char*>("passphrase"));
    std::fclose(out);
    EVP_PKEY_free(key);
  }
  error_of({"", "a", cert.cert_file, encrypted}, ContextError::Option::ClientKeyFile);
}

TEST_CASE("failures are named by the verify result first, then by the OpenSSL error") {
  CHECK(classify_failure(X509_V_ERR_CERT_HAS_EXPIRED, 0) == HandshakeError::CertificateExpired);
  CHECK(classify_failure(X509_V_ERR_CERT_NOT_YET_VALID, 0) == HandshakeError::CertificateNotYetValid);
  CHECK(classify_failure(X509_V_ERR_HOSTNAME_MISMATCH, 0) == HandshakeError::NameMismatch);
  CHECK(classify_failure(X509_V_ERR_IP_ADDRESS_MISMATCH, 0) == HandshakeError::NameMismatch);
  CHECK(classify_failure(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0) == HandshakeError::UnknownCa);
  CHECK(classify_failure(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 0) == HandshakeError::UnknownCa);
  CHECK(classify_failure(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0) == HandshakeError::UnknownCa);
  CHECK(classify_failure(X509_V_ERR_INVALID_PURPOSE, 0) == HandshakeError::BadCertificate);
  const unsigned long alert = ERR_PACK(ERR_LIB_SSL, 0, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED);
  CHECK(classify_failure(X509_V_OK, alert) == HandshakeError::PeerAlert);
  CHECK(classify_failure(X509_V_OK, ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER)) == HandshakeError::ProtocolError);
  CHECK(to_string(HandshakeError::NameMismatch) == "name_mismatch");
  CHECK(verify_error_string(X509_V_ERR_CERT_HAS_EXPIRED) == "certificate has expired");
}
