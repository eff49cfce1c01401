#pragma once
// Header rewriting between client and upstream, written straight into the outgoing head text:
// hop-by-hop fields (RFC 9110 section 7.6.1) and those named in Connection are dropped, the
// X-Forwarded-* / X-Real-IP set are the gateway's. One pass over the fields: linear in the head.
#include <span>
#include <string>
#include <string_view>

#include "auth/claim_headers.h"
#include "http/request_head.h"
#include "proxy/settings.h"

namespace claimgate::proxy {

struct ForwardingContext {
  std::string_view client_ip;
  bool client_is_trusted;  // its X-Forwarded-Proto/-Host and X-Real-IP are kept
  const http::RequestHead& head;
  const UpstreamSpec& upstream;
  std::string_view target;                            // origin-form, for the request line
  const auth::ClaimHeaders* claim_headers = nullptr;  // incoming look-alikes of these are dropped
  // strip_token: the headers and cookies a token came from (every one of them: a request may
  // carry several tokens, each in its own source).
  std::span<const std::string_view> strip_token_headers;
  std::span<const std::string_view> strip_cookies;
  std::string_view identity_headers;  // "Name: value\r\n" lines for the verified identity
  std::string_view request_id;
  bool tls = false;                      // the client connection: X-Forwarded-Proto https
  std::string_view forwarded_client_cert;  // the verified client certificate's XFCC element, or empty
  bool strip_protocol_token = false;  // drop the token entry from Sec-WebSocket-Protocol
  bool upgrade = false;               // a WebSocket handshake: sent with Connection: Upgrade, Upgrade: websocket
};

// The upstream request head (request line through the empty line), appended to `out`.
void write_upstream_request_head(const ForwardingContext& context, std::string& out);

// How the body reaches the client. Upgrade: a 101 to a WebSocket handshake, tunnelled after its head.
enum class ResponseFraming { Bodiless, ContentLength, Chunked, Close, Upgrade };

struct ResponseHead {
  unsigned status = 200;
  std::string_view reason;
  std::span<const http::Field> fields;  // as the upstream sent them
  ResponseFraming framing = ResponseFraming::ContentLength;
  bool keep_alive = true;
  int client_version = 11;  // an HTTP/1.0 client that keeps the connection hears Connection: keep-alive
};

// The client response head, appended to `out`.
void write_client_response_head(const ResponseHead& head, std::string& out);

// "Name: value\r\n" for each pair, appended to `out` (the identity's claim headers).
void append_header_lines(std::span<const std::pair<std::string, std::string>> headers, std::string& out);

}  // namespace claimgate::proxy
