#include "tls/session_cache.h"

#include <openssl/ssl.h>

namespace claimgate::tls {
namespace {
int cache_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}
}  // namespace

void SessionCache::SessionFree::operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }

void SessionCache::install(SSL_CTX* ctx) {
  // Client sessions go to the callback only; OpenSSL's own cache is for servers.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &SessionCache::on_new_session);
  cache_index();
}

void SessionCache::bind(UpstreamContextPtr context) {
  session_.reset();
  context_ = std::move(context);
}

void SessionCache::attach(SSL* ssl) {
  SSL_set_ex_data(ssl, cache_index(), this);
  if (session_ && context_ && SSL_get_SSL_CTX(ssl) == context_->native_handle() &&
      SSL_SESSION_is_resumable(session_.get()))
    SSL_set_session(ssl, session_.get());
}

void SessionCache::forget() { session_.reset(); }

int SessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<SessionCache*>(SSL_get_ex_data(ssl, cache_index()));
  if (!cache || !cache->context_ || SSL_get_SSL_CTX(ssl) != cache->context_->native_handle()) return 0;
  cache->session_.reset(session);
  return 1;  // the reference is ours now
}

}  // namespace claimgate::tls
