#pragma once
// The client side of TLS to one upstream: an SSL_CTX built once at config load, immutable and
// shared by every worker. TLS 1.2 and 1.3 only, ALPN http/1.1, and verification always on: the
// upstream's certificate must chain to ca_file (default: the system bundle) and name server_name
// (a DNS name, or an IP literal matched against the certificate's IP addresses).
#include <openssl/types.h>

#include <memory>
#include <string>

#include "core/result.h"

namespace claimgate::tls {

struct UpstreamTlsOptions {
  std::string ca_file;           // empty: the system CA bundle
  std::string server_name;       // SNI (not sent for an IP literal) and the name verified
  std::string client_cert_file;  // with client_key_file: the chain presented to the upstream
  std::string client_key_file;
};

// Which option a context could not be built from, and why: the file name and OpenSSL's reason,
// never anything read from the file.
struct ContextError {
  enum class Option { CaFile, ServerName, ClientCertFile, ClientKeyFile };
  Option option = Option::CaFile;
  std::string message;
};

class UpstreamContext {
 public:
  static Result<std::shared_ptr<const UpstreamContext>, ContextError> create(const UpstreamTlsOptions& options);

  // A client SSL object for one connection, SNI set; the caller owns it. Null when OpenSSL fails.
  SSL* new_ssl() const;

  const SSL_CTX* native_handle() const { return ctx_.get(); }
  const std::string& server_name() const { return server_name_; }
  bool has_client_certificate() const { return has_client_certificate_; }

 private:
  struct CtxFree {
    void operator()(SSL_CTX* ctx) const;
  };
  UpstreamContext() = default;

  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::string server_name_;
  bool sends_sni_ = false;
  bool has_client_certificate_ = false;
};

using UpstreamContextPtr = std::shared_ptr<const UpstreamContext>;

}  // namespace claimgate::tls
