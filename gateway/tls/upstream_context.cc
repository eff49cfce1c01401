#include "tls/upstream_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <system_error>

#include "tls/session_cache.h"

namespace claimgate::tls {
namespace {

// OpenSSL's reason for the failure just seen (the first error queued is the most specific, e.g.
// the errno of fopen before "system lib"); empties the queue.
std::string take_openssl_reason() {
  const unsigned long first = ERR_peek_error();
  ERR_clear_error();
  if (first != 0 && ERR_SYSTEM_ERROR(first)) return std::generic_category().message(ERR_GET_REASON(first));
  const char* reason = first != 0 ? ERR_reason_error_string(first) : nullptr;
  return reason ? reason : "unknown OpenSSL error";
}

ContextError failure(ContextError::Option option, std::string what, const std::string& file) {
  return ContextError{option, std::move(what) + " \"" + file + "\": " + take_openssl_reason()};
}

}  // namespace

void UpstreamContext::CtxFree::operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }

Result<UpstreamContextPtr, ContextError> UpstreamContext::create(const UpstreamTlsOptions& options) {
  using Option = ContextError::Option;
  ERR_clear_error();
  std::shared_ptr<UpstreamContext> c(new UpstreamContext());
  c->ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* ctx = c->ctx_.get();
  if (!ctx) return fail(ContextError{Option::CaFile, "cannot create a TLS context: " + take_openssl_reason()});
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  // An encrypted key fails to load instead of OpenSSL prompting for a passphrase on the terminal.
  SSL_CTX_set_default_passwd_cb(ctx, [](char*, int, int, void*) { return 0; });
  static constexpr unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn - 1);

  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return fail(ContextError{Option::CaFile, "cannot load the system CA bundle: " + take_openssl_reason()});
  } else if (SSL_CTX_load_verify_file(ctx, options.ca_file.c_str()) != 1) {
    return fail(failure(Option::CaFile, "cannot load CA certificates from", options.ca_file));
  }

  c->server_name_ = options.server_name;
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  c->sends_sni_ = X509_VERIFY_PARAM_set1_ip_asc(param, options.server_name.c_str()) != 1;  // RFC 6066: no SNI for IPs
  if (c->sends_sni_) {
    ERR_clear_error();
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, options.server_name.data(), options.server_name.size()) != 1)
      return fail(ContextError{Option::ServerName, "cannot verify the name \"" + options.server_name + "\": " + take_openssl_reason()});
  }

  if (!options.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.client_cert_file.c_str()) != 1)
      return fail(failure(Option::ClientCertFile, "cannot load a certificate chain from", options.client_cert_file));
    if (SSL_CTX_use_PrivateKey_file(ctx, options.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(failure(Option::ClientKeyFile, "cannot load a private key matching client_cert_file from",
                          options.client_key_file));
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail(failure(Option::ClientKeyFile, "the key does not match client_cert_file:", options.client_key_file));
    c->has_client_certificate_ = true;
  }
  SessionCache::install(ctx);
  return UpstreamContextPtr(std::move(c));
}

SSL* UpstreamContext::new_ssl() const {
  SSL* ssl = SSL_new(ctx_.get());
  if (ssl && sends_sni_ && SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1) {
    SSL_free(ssl);
    ssl = nullptr;
  }
  if (!ssl) ERR_clear_error();
  return ssl;
}

}  // namespace claimgate::tls
