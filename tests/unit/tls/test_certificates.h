#pragma once
// Test-only certificates made with OpenSSL in the test process: one self-signed EC P-256
// certificate (it is its own CA) for the names given, written with its key to a fresh directory.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace claimgate::testing {

struct TestCertificate {
  std::string dir;
  std::string cert_file;  // PEM; also the CA file that trusts it
  std::string key_file;
};

// `san` is an X509v3 subjectAltName value, e.g. "DNS:localhost,IP:127.0.0.1". `days_valid` < 0
// makes a certificate that expired that many days ago.
inline TestCertificate make_test_certificate(const std::string& name, const std::string& san, long days_valid = 30) {
  char pattern[] = "/tmp/claimgate-tls-test-XXXXXX";
  TestCertificate out;
  out.dir = ::mkdtemp(pattern);
  out.cert_file = out.dir + "/" + name + ".crt";
  out.key_file = out.dir + "/" + name + ".key";

  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), std::rand() + 1);
  const long now_offset = days_valid < 0 ? (days_valid - 1) * 86400L : -3600L;
  X509_gmtime_adj(X509_getm_notBefore(cert), now_offset);
  X509_gmtime_adj(X509_getm_notAfter(cert), days_valid * 86400L);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                                  {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());

  FILE* f = std::fopen(out.cert_file.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(out.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace claimgate::testing
