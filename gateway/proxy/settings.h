#pragma once
// What the proxy needs from the config, as plain values (no Beast here: config/ fills these).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/cidr.h"
#include "tls/server_settings.h"

namespace claimgate::tls {
class UpstreamContext;
}

namespace claimgate::proxy {

struct Endpoint {
  std::string host;  // an IP literal, e.g. 127.0.0.1 or ::1
  std::uint16_t port = 0;
};

// One address the proxy accepts connections on: plain HTTP, or TLS with its certificates.
struct Listener {
  Endpoint address;
  std::optional<tls::ServerSettings> tls;
};

struct UpstreamSpec {
  std::string name;
  std::string url;   // http://host:port or https://host:port
  std::string host;  // from url
  std::uint16_t port = 80;
  std::shared_ptr<const tls::UpstreamContext> tls;  // https:// only: built at config load, shared by workers
  std::int64_t connect_timeout_ms = 2000;
  std::int64_t response_timeout_ms = 30000;  // wait for the response header, and each body read
  std::size_t max_idle_connections = 64;
  std::int64_t idle_timeout_ms = 60000;
};

// Decision mode for gateways already at the edge (nginx auth_request, Traefik forwardAuth,
// Envoy ext_authz): requests to `path` on the main listener carry the original method, host and
// URI in X-Forwarded-* / X-Original-* headers and get 200 with X-User-* headers, or 401/403.
struct ForwardAuthSettings {
  std::string path;  // empty = off
  std::vector<http::Cidr> trusted_sources = {*http::Cidr::parse("127.0.0.0/8"), *http::Cidr::parse("::1/128")};
};

struct Settings {
  Endpoint listen{"127.0.0.1", 8080};
  // `listeners:` in the config, or `listen` as the one plain listener.
  std::vector<Listener> listeners;
  Endpoint admin{"127.0.0.1", 9901};
  unsigned threads = 0;  // 0 = one per core
  std::int64_t request_header_timeout_ms = 10000;
  std::int64_t idle_timeout_ms = 60000;  // keep-alive idle, and each client body read/write
  std::size_t max_request_header_bytes = 65536;
  std::size_t max_request_headers = 100;  // header fields per request head; more are refused with 431
  std::uint64_t max_request_body_bytes = 0;  // 0 = unlimited
  std::size_t max_connections = 10000;
  std::int64_t drain_timeout_ms = 15000;
  bool access_log = true;  // one JSON line per request on stderr
  bool metrics = true;     // per-request counters and histograms (the bench measures their cost)
  std::vector<http::Cidr> trusted_proxies;
  ForwardAuthSettings forward_auth;
  std::vector<UpstreamSpec> upstreams;

  const UpstreamSpec* find_upstream(std::string_view name) const {
    for (const UpstreamSpec& u : upstreams) {
      if (u.name == name) return &u;
    }
    return nullptr;
  }
};

}  // namespace claimgate::proxy
