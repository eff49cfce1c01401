#pragma once
// A TLS listener's OpenSSL context, built once from its files and immutable afterwards, and the
// listener's holder of the current one: a rebuild (file change, SIGHUP) replaces it for new
// handshakes while open connections keep the context they started with.
#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls/server_settings.h"

namespace claimgate::tls {

// Session ticket keys (name, HMAC and AES keys) kept across rebuilds, so a client resumes its
// session after a certificate rotation.
using TicketKeys = std::array<unsigned char, 80>;
TicketKeys random_ticket_keys();

struct CertificateInfo {
  std::string cert_file;
  std::int64_t not_after_unix_s = 0;
};

class ServerContext {
 public:
  // TLS 1.2/1.3 only, a modern cipher list, ALPN http/1.1, session tickets and a session cache.
  // The error names the file and what is wrong with it, never key material.
  static Result<std::shared_ptr<const ServerContext>, std::string> build(const ServerSettings& settings,
                                                                         const TicketKeys& ticket_keys);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* native() const;
  const std::vector<CertificateInfo>& certificates() const;
  bool asks_client_certificate() const;

  struct Impl;

 private:
  explicit ServerContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The current context of one listener.
class ListenerTls {
 public:
  static Result<std::shared_ptr<ListenerTls>, std::string> create(ServerSettings settings);

  std::shared_ptr<const ServerContext> current() const;
  const ServerSettings& settings() const { return settings_; }

  enum class Reload { Unchanged, Reloaded, Failed };
  // Rebuilds from `settings` when they differ from the current ones, when a file changed since
  // the last build, or when `force` is set; on failure the current context stays and `error`
  // says why.
  Reload reload(const ServerSettings& settings, bool force, std::string& error);

 private:
  ListenerTls() = default;
  std::string signature_of(const ServerSettings& settings) const;

  mutable std::mutex mutex_;
  ServerSettings settings_;
  TicketKeys ticket_keys_{};
  std::string files_signature_;
  std::shared_ptr<const ServerContext> current_;
};

bool operator==(const ServerSettings& a, const ServerSettings& b);


}  // namespace claimgate::tls
