#pragma once
// One HTTP(S) GET for a JWKS document: Beast over plain TCP or OpenSSL with the peer's
// certificate and host name verified. Used only on the control context.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"
#include "keys/provider_spec.h"

namespace claimgate::keys {

inline constexpr std::size_t kMaxJwksResponseBytes = 8 * 1024 * 1024;

struct FetchResponse {
  unsigned status = 0;
  std::string body;
  std::optional<std::int64_t> max_age_s;  // Cache-Control: max-age
};

using FetchCallback = std::function<void(Result<FetchResponse, std::string>)>;

// Calls `done` exactly once, on `ioc`. `tls` may be null for http:// URLs.
void fetch_url(boost::asio::io_context& ioc, boost::asio::ssl::context* tls, const HttpUrl& url,
               std::chrono::milliseconds timeout, FetchCallback done);

// "public, max-age=300" -> 300. Absent, malformed or no-store -> nullopt.
std::optional<std::int64_t> parse_max_age(std::string_view cache_control);

}  // namespace claimgate::keys
