#pragma once
// Header rewriting between client and upstream: hop-by-hop fields (RFC 9110 section 7.6.1),
// including those named in Connection, and the X-Forwarded-* / X-Real-IP set by the gateway.
#include <boost/beast/http/fields.hpp>

#include <string_view>
#include <vector>

#include "auth/claim_headers.h"
#include "http/request_head.h"
#include "proxy/settings.h"

namespace claimgate::proxy {

struct ForwardingContext {
  std::string_view client_ip;
  bool client_is_trusted;  // its X-Forwarded-Proto/-Host and X-Real-IP are kept
  const http::RequestHead& head;
  const UpstreamSpec& upstream;
  const auth::ClaimHeaders* claim_headers = nullptr;  // incoming look-alikes of these are dropped
  // strip_token: the headers and cookies a token came from (every one of them: a request may
  // carry several tokens, each in its own source).
  std::vector<std::string_view> strip_token_headers;
  std::vector<std::string_view> strip_cookies;
};

void copy_request_fields(const boost::beast::http::fields& in, const ForwardingContext& context,
                         boost::beast::http::fields& out);

void copy_response_fields(const boost::beast::http::fields& in, boost::beast::http::fields& out);

}  // namespace claimgate::proxy
