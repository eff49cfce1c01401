#include "proxy/forwarding.h"

#include <algorithm>
#include <string>
#include <vector>

#include "auth/token_sources.h"

namespace claimgate::proxy {

namespace bhttp = boost::beast::http;

namespace {

bool is_hop_by_hop(bhttp::field name) {
  switch (name) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::trailer:
      return true;
    default:
      return false;
  }
}

// Names listed in Connection, lower-case. Framing fields are never removable this way: dropping
// Content-Length on a client's say-so would change how the upstream frames the body.
std::vector<std::string> connection_options(const bhttp::fields& in) {
  std::vector<std::string> out;
  for (const auto& f : in) {
    if (f.name() != bhttp::field::connection) continue;
    for (std::string_view option : http::split_list(f.value())) {
      std::string lower(option);
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower != "content-length" && lower != "host") out.push_back(std::move(lower));
    }
  }
  return out;
}

bool is_named_in(const std::vector<std::string>& options, std::string_view name) {
  return std::any_of(options.begin(), options.end(), [&](const std::string& o) { return http::iequals(o, name); });
}

}  // namespace

void copy_request_fields(const bhttp::fields& in, const ForwardingContext& context, bhttp::fields& out) {
  const std::vector<std::string> options = connection_options(in);
  std::string forwarded_for;
  std::string_view incoming_proto;
  std::string_view incoming_host;
  std::string_view incoming_real_ip;
  bool has_host = false;
  for (const auto& f : in) {
    const bhttp::field name = f.name();
    const std::string_view name_string = f.name_string();
    if (is_hop_by_hop(name) || name == bhttp::field::expect) continue;
    if (http::iequals(name_string, "x-forwarded-for")) {
      if (!forwarded_for.empty()) forwarded_for += ", ";
      forwarded_for += f.value();
      continue;
    }
    if (http::iequals(name_string, "x-forwarded-proto")) {
      if (incoming_proto.empty()) incoming_proto = f.value();
      continue;
    }
    if (http::iequals(name_string, "x-forwarded-host")) {
      if (incoming_host.empty()) incoming_host = f.value();
      continue;
    }
    if (http::iequals(name_string, "x-real-ip")) {
      if (incoming_real_ip.empty()) incoming_real_ip = f.value();
      continue;
    }
    if (name == bhttp::field::host) {
      if (context.head.absolute_form) continue;
      has_host = true;
    }
    if (is_named_in(options, name_string)) continue;
    if (context.claim_headers && context.claim_headers->is_reserved(name_string)) continue;
    if (std::ranges::any_of(context.strip_token_headers,
                            [&](std::string_view strip) { return http::iequals(name_string, strip); })) {
      continue;
    }
    if (!context.strip_cookies.empty() && name == bhttp::field::cookie) {
      std::string rest(f.value());
      for (const std::string_view cookie : context.strip_cookies) rest = auth::remove_cookie(rest, cookie);
      if (!rest.empty()) out.insert(name, name_string, rest);
      continue;
    }
    out.insert(name, name_string, f.value());
  }

  if (context.head.absolute_form) {
    out.set(bhttp::field::host, context.head.host);
  } else if (!has_host) {
    out.set(bhttp::field::host, context.upstream.host + ":" + std::to_string(context.upstream.port));
  }
  if (!forwarded_for.empty()) forwarded_for += ", ";
  forwarded_for += context.client_ip;
  out.set("X-Forwarded-For", forwarded_for);
  const bool trusted = context.client_is_trusted;
  out.set("X-Forwarded-Proto", trusted && !incoming_proto.empty() ? incoming_proto : std::string_view("http"));
  if (trusted && !incoming_host.empty()) {
    out.set("X-Forwarded-Host", incoming_host);
  } else if (!context.head.host.empty()) {
    out.set("X-Forwarded-Host", context.head.host);
  }
  out.set("X-Real-IP", trusted && !incoming_real_ip.empty() ? incoming_real_ip : context.client_ip);
}

void copy_response_fields(const bhttp::fields& in, bhttp::fields& out) {
  const std::vector<std::string> options = connection_options(in);
  for (const auto& f : in) {
    if (is_hop_by_hop(f.name()) || is_named_in(options, f.name_string())) continue;
    out.insert(f.name(), f.name_string(), f.value());
  }
}

}  // namespace claimgate::proxy
