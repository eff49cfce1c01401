#include "proxy/forwarding.h"

#include <algorithm>
#include <charconv>

#include "auth/token_sources.h"

namespace claimgate::proxy {

namespace {

using http::iequals;

bool is_hop_by_hop(std::string_view name) {
  // Dispatch on length first: this runs for every field of every message.
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

// Framing fields are never removable through Connection: dropping Content-Length on a client's
// say-so would change how the upstream frames the body.
bool is_named_in_connection(std::span<const std::string_view> options, std::string_view name) {
  if (iequals(name, "content-length") || iequals(name, "host")) return false;
  return std::any_of(options.begin(), options.end(), [&](std::string_view o) { return iequals(o, name); });
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

void write_upstream_request_head(const ForwardingContext& c, std::string& out) {
  const http::RequestHead& head = c.head;
  out.append(head.method).append(" ").append(c.target).append(" HTTP/1.1\r\n");
  std::string_view incoming_proto;
  std::string_view incoming_host;
  std::string_view incoming_real_ip;
  bool has_host = false;
  const bool strips_cookies = !c.strip_cookies.empty();
  // The incoming X-Forwarded-For values, joined, come before the client's address.
  std::string_view forwarded_for[8];
  std::size_t forwarded_for_count = 0;
  std::string joined_forwarded_for;
  for (const http::Field& f : head.fields) {
    const std::string_view name = f.first;
    const std::string_view value = f.second;
    if (is_hop_by_hop(name) || iequals(name, "expect") || iequals(name, "x-request-id")) continue;
    if (name.size() >= 9 && (name[0] == 'x' || name[0] == 'X')) {
      if (iequals(name, "x-forwarded-for")) {
        if (forwarded_for_count < std::size(forwarded_for)) {
          forwarded_for[forwarded_for_count++] = value;
        } else {
          joined_forwarded_for.append(", ").append(value);
        }
        continue;
      }
      if (iequals(name, "x-forwarded-proto")) {
        if (incoming_proto.empty()) incoming_proto = value;
        continue;
      }
      if (iequals(name, "x-forwarded-host")) {
        if (incoming_host.empty()) incoming_host = value;
        continue;
      }
      if (iequals(name, "x-real-ip")) {
        if (incoming_real_ip.empty()) incoming_real_ip = value;
        continue;
      }
    }
    if (iequals(name, "host")) {
      if (head.absolute_form) continue;
      has_host = true;
    }
    if (!head.connection_options.empty() && is_named_in_connection(head.connection_options, name)) continue;
    if (c.claim_headers && c.claim_headers->is_reserved(name)) continue;
    if (std::any_of(c.strip_token_headers.begin(), c.strip_token_headers.end(),
                    [&](std::string_view strip) { return iequals(name, strip); }))
      continue;
    if (c.strip_protocol_token && iequals(name, "sec-websocket-protocol")) {
      const std::string rest = auth::remove_protocol_token(value);
      if (!rest.empty()) append_field(out, name, rest);
      continue;
    }
    if (strips_cookies && iequals(name, "cookie")) {
      std::string rest(value);
      for (const std::string_view cookie : c.strip_cookies) rest = auth::remove_cookie(rest, cookie);
      if (!rest.empty()) append_field(out, name, rest);
      continue;
    }
    append_field(out, name, value);
  }

  if (head.absolute_form) {
    append_field(out, "Host", head.host);
  } else if (!has_host) {
    char port[8];
    const auto end = std::to_chars(port, port + sizeof port, c.upstream.port).ptr;
    out.append("Host: ").append(c.upstream.host).append(":").append(std::string_view(port, end - port)).append("\r\n");
  }
  out.append("X-Forwarded-For: ");
  for (std::size_t i = 0; i < forwarded_for_count; ++i) out.append(forwarded_for[i]).append(", ");
  if (!joined_forwarded_for.empty()) out.append(std::string_view(joined_forwarded_for).substr(2)).append(", ");
  out.append(c.client_ip).append("\r\n");
  const bool trusted = c.client_is_trusted;
  const std::string_view proto = c.tls ? "https" : "http";
  append_field(out, "X-Forwarded-Proto", trusted && !incoming_proto.empty() ? incoming_proto : proto);
  if (trusted && !incoming_host.empty()) {
    append_field(out, "X-Forwarded-Host", incoming_host);
  } else if (!head.host.empty()) {
    append_field(out, "X-Forwarded-Host", head.host);
  }
  append_field(out, "X-Real-IP", trusted && !incoming_real_ip.empty() ? incoming_real_ip : c.client_ip);
  if (!c.forwarded_client_cert.empty()) append_field(out, "X-Forwarded-Client-Cert", c.forwarded_client_cert);
  out.append(c.identity_headers);
  append_field(out, "X-Request-Id", c.request_id);
  if (head.chunked) out.append("Transfer-Encoding: chunked\r\n");
  // Only the protocol the gateway tunnels: whatever else Upgrade listed (h2c) is dropped.
  if (c.upgrade) out.append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  out.append("\r\n");
}

void write_client_response_head(const ResponseHead& r, std::string& out) {
  char status[4];
  const auto end = std::to_chars(status, status + sizeof status, r.status).ptr;
  out.append("HTTP/1.1 ").append(std::string_view(status, end - status)).append(" ").append(r.reason).append("\r\n");
  // Names listed in the upstream's Connection fields are hop-by-hop too.
  std::string_view options[16];
  std::size_t option_count = 0;
  for (const http::Field& f : r.fields) {
    if (!iequals(f.first, "connection")) continue;
    http::for_each_list_member(f.second, [&](std::string_view o) {
      if (option_count < std::size(options)) options[option_count++] = o;
    });
  }
  const std::span<const std::string_view> named(options, option_count);
  const bool keeps_length = r.framing == ResponseFraming::ContentLength || r.framing == ResponseFraming::Bodiless;
  for (const http::Field& f : r.fields) {
    if (is_hop_by_hop(f.first)) continue;
    if (option_count && is_named_in_connection(named, f.first)) continue;
    if (!keeps_length && iequals(f.first, "content-length")) continue;
    append_field(out, f.first, f.second);
  }
  if (r.framing == ResponseFraming::Chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (r.framing == ResponseFraming::Upgrade) {
    out.append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  } else if (!r.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (r.client_version == 10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

void append_header_lines(std::span<const std::pair<std::string, std::string>> headers, std::string& out) {
  for (const auto& [name, value] : headers) append_field(out, name, value);
}

}  // namespace claimgate::proxy
