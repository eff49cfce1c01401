#include "tls/peer_certificate.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "jwt/base64url.h"

namespace claimgate::tls {
namespace {

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::string rfc2253(const X509_NAME* name) {
  BIO* out = BIO_new(BIO_s_mem());
  if (!out) return {};
  X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(out);
  return text;
}

// XFCC values are quoted when they hold a separator, with '"' and '\' escaped (Envoy's rule).
void append_value(std::string& out, std::string_view value, bool always_quote) {
  const bool quote = always_quote || value.find_first_of(",;=\"") != std::string_view::npos;
  if (!quote) {
    for (char c : value) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;  // never a line break in a header
  }
  out += '"';
}

std::optional<PeerCertificate> describe(X509* cert) {
  PeerCertificate p;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &digest_size) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < digest_size; ++i) {
    p.sha256_hex += kHex[digest[i] >> 4];
    p.sha256_hex += kHex[digest[i] & 15];
  }
  p.thumbprint = jwt::encode_base64url(std::string_view(reinterpret_cast<const char*>(digest), digest_size));
  p.subject = rfc2253(X509_get_subject_name(cert));
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI) p.uris.push_back(asn1_text(name->d.uniformResourceIdentifier));
    if (name->type == GEN_DNS) p.dns.push_back(asn1_text(name->d.dNSName));
  }
  GENERAL_NAMES_free(names);
  ERR_clear_error();
  return p;
}

}  // namespace

std::optional<PeerCertificate> verified_peer_certificate(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return describe(cert);
}

Result<PeerCertificate, std::string> read_certificate_file(const std::string& path) {
  BIO* in = BIO_new_file(path.c_str(), "r");
  X509* cert = in ? PEM_read_bio_X509(in, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(in);
  ERR_clear_error();
  if (!cert) return fail(path + ": no PEM certificate can be read from it");
  auto described = describe(cert);
  X509_free(cert);
  if (!described) return fail(path + ": the certificate cannot be hashed");
  return std::move(*described);
}

std::string forwarded_client_cert(const PeerCertificate& c) {
  std::string out = "Hash=" + c.sha256_hex + ";Subject=";
  append_value(out, c.subject, true);
  for (const std::string& uri : c.uris) {
    out += ";URI=";
    append_value(out, uri, false);
  }
  for (const std::string& dns : c.dns) {
    out += ";DNS=";
    append_value(out, dns, false);
  }
  return out;
}

}  // namespace claimgate::tls
