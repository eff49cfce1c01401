#include "tls/server_context.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <unordered_map>

#include "core/ascii.h"
#include "core/file_signature.h"

namespace claimgate::tls {
namespace {

// Mozilla's "intermediate" TLS 1.2 list; TLS 1.3 keeps OpenSSL's default suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kSessionIdContext[] = "claimgate";

// The last OpenSSL error's reason (never data), and the queue emptied.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : "error " + std::to_string(ERR_GET_REASON(e));
}

// A key file must never make OpenSSL prompt on the terminal: encrypted keys are an error.
int no_password(char*, int, int, void*) { return -1; }

struct Certificate {
  X509* leaf = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509)* chain = nullptr;
  std::vector<std::string> dns_names;  // lower-case SAN DNS names, wildcards included
};


Result<Certificate, std::string> load_certificate(const CertificateFiles& files) {
  Certificate c;
  BIO* in = BIO_new_file(files.cert_file.c_str(), "r");
  if (!in) {
    ERR_clear_error();
    return fail("cert_file " + files.cert_file + ": cannot be read");
  }
  c.leaf = PEM_read_bio_X509(in, nullptr, no_password, nullptr);
  if (!c.leaf) {
    BIO_free(in);
    ERR_clear_error();
    return fail("cert_file " + files.cert_file + ": no PEM certificate in it");
  }
  c.chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(in, nullptr, no_password, nullptr)) sk_X509_push(c.chain, extra);
  ERR_clear_error();  // the end of the file reads as an error
  BIO_free(in);

  BIO* key_in = BIO_new_file(files.key_file.c_str(), "r");
  if (!key_in) {
    ERR_clear_error();
    return fail("key_file " + files.key_file + ": cannot be read");
  }
  c.key = PEM_read_bio_PrivateKey(key_in, nullptr, no_password, nullptr);
  BIO_free(key_in);
  if (!c.key) {
    ERR_clear_error();
    return fail("key_file " + files.key_file + ": no unencrypted PEM private key in it");
  }
  if (X509_check_private_key(c.leaf, c.key) != 1) {
    ERR_clear_error();
    return fail("key_file " + files.key_file + ": does not match the certificate in " + files.cert_file);
  }
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.leaf, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const auto* text = reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName));
    c.dns_names.push_back(ascii::to_lower(std::string_view(text, static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)))));
  }
  GENERAL_NAMES_free(names);
  return c;
}

void free_certificate(Certificate& c) {
  X509_free(c.leaf);
  EVP_PKEY_free(c.key);
  sk_X509_pop_free(c.chain, X509_free);
  c = {};
}

std::int64_t not_after(const X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

struct ServerContext::Impl {
  SSL_CTX* ctx = nullptr;
  std::vector<Certificate> certificates;
  std::vector<CertificateInfo> info;
  std::unordered_map<std::string, std::size_t> exact;     // DNS name -> certificate
  std::unordered_map<std::string, std::size_t> wildcard;  // "example.com" of "*.example.com" -> certificate
  bool asks_client_certificate = false;

  ~Impl() {
    SSL_CTX_free(ctx);
    for (Certificate& c : certificates) free_certificate(c);
  }

  // The certificate for an SNI name: an exact SAN name first, then a wildcard one level down,
  // else the default (the first).
  std::size_t pick(std::string_view server_name) const {
    if (server_name.empty()) return 0;
    const std::string name = ascii::to_lower(server_name);
    if (auto it = exact.find(name); it != exact.end()) return it->second;
    if (const auto dot = name.find('.'); dot != std::string::npos) {
      if (auto it = wildcard.find(name.substr(dot + 1)); it != wildcard.end()) return it->second;
    }
    return 0;
  }
};

namespace {

// Runs once the ClientHello (and its SNI) is read, before the certificate is used.
int select_certificate(SSL* ssl, void* arg) {
  const auto* impl = static_cast<const ServerContext::Impl*>(arg);
  const char* server_name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const std::size_t index = impl->pick(server_name ? server_name : "");
  if (index == 0) return 1;  // the context's own certificate
  const Certificate& c = impl->certificates[index];
  return SSL_use_cert_and_key(ssl, c.leaf, c.key, c.chain, 1) == 1 ? 1 : 0;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in, unsigned int in_len,
                void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpn, sizeof kAlpn, in, in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // RFC 7301: no_application_protocol
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TicketKeys random_ticket_keys() {
  TicketKeys keys{};
  if (RAND_bytes(keys.data(), static_cast<int>(keys.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return keys;
}

ServerContext::ServerContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerContext::~ServerContext() = default;
SSL_CTX* ServerContext::native() const { return impl_->ctx; }
const std::vector<CertificateInfo>& ServerContext::certificates() const { return impl_->info; }
bool ServerContext::asks_client_certificate() const { return impl_->asks_client_certificate; }

Result<std::shared_ptr<const ServerContext>, std::string> ServerContext::build(const ServerSettings& s,
                                                                               const TicketKeys& ticket_keys) {
  if (s.certificates.empty()) return fail(std::string("certificates: at least one is needed"));
  auto impl = std::make_unique<Impl>();
  for (const CertificateFiles& files : s.certificates) {
    auto c = load_certificate(files);
    if (!c) return fail(std::move(c.error()));
    impl->info.push_back({files.cert_file, not_after(c->leaf)});
    impl->certificates.push_back(*c);
  }
  for (std::size_t i = impl->certificates.size(); i-- > 0;) {  // the first certificate listed wins a name
    for (const std::string& name : impl->certificates[i].dns_names) {
      if (name.starts_with("*.")) {
        impl->wildcard[name.substr(2)] = i;
      } else {
        impl->exact[name] = i;
      }
    }
  }

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return fail("cannot create a TLS context: " + openssl_reason());
  impl->ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, s.min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Idle keep-alive connections hold no record buffers (as nginx does).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) return fail("cipher list: " + openssl_reason());
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_set_tlsext_ticket_keys(ctx, const_cast<unsigned char*>(ticket_keys.data()),
                                     static_cast<long>(ticket_keys.size())) != 1)
    return fail("session ticket keys: " + openssl_reason());

  const Certificate& first = impl->certificates.front();
  if (SSL_CTX_use_cert_and_key(ctx, first.leaf, first.key, first.chain, 1) != 1)
    return fail("cert_file " + s.certificates.front().cert_file + ": " + openssl_reason());
  if (impl->certificates.size() > 1) SSL_CTX_set_cert_cb(ctx, select_certificate, impl.get());

  if (!s.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, s.client_ca_file.c_str(), nullptr) != 1)
      return fail("client_ca_file " + s.client_ca_file + ": " + openssl_reason());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca_file.c_str());
    if (!names || sk_X509_NAME_num(names) == 0) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      ERR_clear_error();
      return fail("client_ca_file " + s.client_ca_file + ": no PEM certificate in it");
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    const int mode = SSL_VERIFY_PEER | (s.verify_client == ClientVerify::Required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(ctx, mode, nullptr);
    SSL_CTX_set_verify_depth(ctx, 8);
    impl->asks_client_certificate = true;
  }
  ERR_clear_error();
  return std::shared_ptr<const ServerContext>(new ServerContext(std::move(impl)));
}

bool operator==(const ServerSettings& a, const ServerSettings& b) {
  auto same_files = [](const CertificateFiles& x, const CertificateFiles& y) {
    return x.cert_file == y.cert_file && x.key_file == y.key_file;
  };
  return a.min_version == b.min_version && a.client_ca_file == b.client_ca_file && a.verify_client == b.verify_client &&
         std::equal(a.certificates.begin(), a.certificates.end(), b.certificates.begin(), b.certificates.end(), same_files);
}

std::string ListenerTls::signature_of(const ServerSettings& s) const {
  std::string out;
  for (const CertificateFiles& f : s.certificates) out += file_signature(f.cert_file) + "|" + file_signature(f.key_file) + "|";
  if (!s.client_ca_file.empty()) out += file_signature(s.client_ca_file);
  return out;
}

Result<std::shared_ptr<ListenerTls>, std::string> ListenerTls::create(ServerSettings settings) {
  std::shared_ptr<ListenerTls> holder(new ListenerTls());
  holder->ticket_keys_ = random_ticket_keys();
  holder->files_signature_ = holder->signature_of(settings);
  auto context = ServerContext::build(settings, holder->ticket_keys_);
  if (!context) return fail(std::move(context.error()));
  holder->current_ = std::move(*context);
  holder->settings_ = std::move(settings);
  return holder;
}

std::shared_ptr<const ServerContext> ListenerTls::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

ListenerTls::Reload ListenerTls::reload(const ServerSettings& settings, bool force, std::string& error) {
  const std::string signature = signature_of(settings);
  {
    std::lock_guard lock(mutex_);
    if (!force && settings == settings_ && signature == files_signature_) return Reload::Unchanged;
  }
  auto context = ServerContext::build(settings, ticket_keys_);
  std::lock_guard lock(mutex_);
  // A failed build is not tried again until a file changes once more.
  files_signature_ = signature;
  if (!context) {
    error = std::move(context.error());
    return Reload::Failed;
  }
  current_ = std::move(*context);
  settings_ = settings;
  return Reload::Reloaded;
}

}  // namespace claimgate::tls
