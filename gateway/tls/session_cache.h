#pragma once
// The last TLS session one worker got from one upstream, offered on the worker's next new
// connection to it (resumption). OpenSSL hands sessions over in a callback: at the end of a TLS
// 1.2 handshake, and with each TLS 1.3 ticket, which arrives after the handshake, with the first
// response or while the connection idles. Owned and used by one thread only.
#include <openssl/ssl.h>

#include <memory>

#include "tls/upstream_context.h"

namespace claimgate::tls {

class SessionCache {
 public:
  SessionCache() = default;
  SessionCache(const SessionCache&) = delete;
  SessionCache& operator=(const SessionCache&) = delete;

  // Sessions are kept for `context` only: binding another context forgets the session, and a
  // connection made from any other context never stores one here (its verification differed).
  void bind(UpstreamContextPtr context);
  const UpstreamContext* context() const { return context_.get(); }

  // Offers the kept session to `ssl` and keeps the sessions `ssl` gets. The cache outlives `ssl`'s
  // last read.
  void attach(SSL* ssl);
  // After a failed handshake: the session may be what the upstream refused.
  void forget();
  bool has_session() const { return session_ != nullptr; }

  // Called once per context, at its creation: routes its new sessions to the cache attached.
  static void install(SSL_CTX* ctx);

 private:
  struct SessionFree {
    void operator()(SSL_SESSION* session) const;
  };
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  UpstreamContextPtr context_;
  std::unique_ptr<SSL_SESSION, SessionFree> session_;
};

}  // namespace claimgate::tls
