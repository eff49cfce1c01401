// The providers section (trusted issuers) and the auth section (token sources, claim headers).
#include <charconv>
#include <string>

#include "config/reader.h"
#include "http/request_head.h"

namespace claimgate::config {
namespace {

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const auto ip = http::parse_ip(host);
  if (!ip) return false;
  static const auto v4 = *http::Cidr::parse("127.0.0.0/8");
  static const auto v6 = *http::Cidr::parse("::1/128");
  return v4.contains(*ip) || v6.contains(*ip);
}

void read_provider(Reader& r, const YAML::Node& node, const std::string& key, keys::ProviderSpec& p) {
  if (!r.check_map(node, key,
                   {"name", "issuer", "audiences", "jwks_url", "jwks_file", "hmac_secret_file", "allow_insecure_http",
                    "ca_file", "algorithms", "leeway_s", "max_lifetime_s", "require_exp", "required_claims",
                    "max_token_bytes", "roles_claim", "scopes_claim", "refresh_interval_s", "min_refresh_interval_s",
                    "max_refresh_interval_s", "fetch_timeout_ms", "max_stale_s", "unknown_kid_wait_ms", "certificate_bound"}))
    return;
  auto required_string = [&](const char* name, std::string& out) {
    if (auto n = node[name]) {
      if (r.read_string(n, key + "." + name, out) && out.empty()) r.error(n, key + "." + name, "must not be empty");
    } else {
      r.error(node, key + "." + name, "is required");
    }
  };
  required_string("name", p.name);
  required_string("issuer", p.verify.issuer);
  if (auto n = node["audiences"]) r.read_string_list(n, key + ".audiences", p.verify.audiences);

  int sources = 0;
  if (auto n = node["jwks_url"]) {
    ++sources;
    p.source = keys::KeySourceKind::JwksUrl;
    if (r.read_string(n, key + ".jwks_url", p.jwks_url) && !parse_http_url(p.jwks_url, p.url))
      r.error(n, key + ".jwks_url", "must be an http(s)://HOST[:PORT]/PATH URL, got \"" + p.jwks_url + "\"");
  }
  if (auto n = node["jwks_file"]) {
    ++sources;
    p.source = keys::KeySourceKind::JwksFile;
    r.read_string(n, key + ".jwks_file", p.jwks_file);
  }
  if (auto n = node["hmac_secret_file"]) {
    ++sources;
    p.source = keys::KeySourceKind::HmacSecretFile;
    r.read_string(n, key + ".hmac_secret_file", p.hmac_secret_file);
  }
  if (sources != 1) r.error(node, key, "needs exactly one of jwks_url, jwks_file, hmac_secret_file");
  if (auto n = node["allow_insecure_http"]) r.read_bool(n, key + ".allow_insecure_http", p.allow_insecure_http);
  if (auto n = node["ca_file"]) r.read_string(n, key + ".ca_file", p.ca_file);
  if (p.source == keys::KeySourceKind::JwksUrl && !p.url.host.empty() && !p.url.tls && !p.allow_insecure_http &&
      !is_loopback_host(p.url.host))
    r.error(node["jwks_url"], key + ".jwks_url",
            "plain http is allowed only to loopback addresses; use https or set allow_insecure_http: true");

  if (auto n = node["algorithms"]) {
    std::vector<std::string> names;
    if (r.read_string_list(n, key + ".algorithms", names)) {
      auto algs = jwt::validate_algorithm_list(names);
      if (!algs) {
        r.error(n, key + ".algorithms", algs.error());
      } else {
        p.verify.allowed_algorithms = std::move(*algs);
        const bool hmac = jwt::is_hmac(p.verify.allowed_algorithms.front());
        if (hmac && p.source == keys::KeySourceKind::JwksUrl)
          r.error(n, key + ".algorithms", "HS* keys come only from local files (jwks_file or hmac_secret_file), never from jwks_url");
        if (!hmac && p.source == keys::KeySourceKind::HmacSecretFile)
          r.error(n, key + ".algorithms", "hmac_secret_file serves only HS256/HS384/HS512");
      }
    }
  } else {
    r.error(node, key + ".algorithms", "is required (e.g. [EdDSA, RS256, ES256])");
  }
  if (auto n = node["leeway_s"]) r.read_int(n, key + ".leeway_s", p.verify.leeway_s, 0, 3600);
  if (auto n = node["max_lifetime_s"]) {
    std::int64_t v = 0;
    if (r.read_int(n, key + ".max_lifetime_s", v, 1, 10LL * 365 * 86400)) p.verify.max_lifetime_s = v;
  }
  if (auto n = node["require_exp"]) r.read_bool(n, key + ".require_exp", p.verify.require_exp);
  if (auto n = node["required_claims"]) r.read_string_list(n, key + ".required_claims", p.verify.required_claims);
  if (auto n = node["max_token_bytes"]) r.read_int(n, key + ".max_token_bytes", p.verify.max_token_bytes, 256, 1 << 20);
  if (auto n = node["roles_claim"]) r.read_string(n, key + ".roles_claim", p.roles_claim);
  if (auto n = node["scopes_claim"]) r.read_string(n, key + ".scopes_claim", p.scopes_claim);
  if (auto n = node["certificate_bound"]) {
    std::string mode;
    if (r.read_string(n, key + ".certificate_bound", mode)) {
      if (mode == "off") {
        p.certificate_bound = keys::CertificateBinding::Off;
      } else if (mode == "when_present") {
        p.certificate_bound = keys::CertificateBinding::WhenPresent;
      } else if (mode == "required") {
        p.certificate_bound = keys::CertificateBinding::Required;
      } else {
        r.error(n, key + ".certificate_bound", "must be one of off, when_present, required, got \"" + mode + "\"");
      }
    }
  }
  if (auto n = node["refresh_interval_s"]) r.read_int(n, key + ".refresh_interval_s", p.refresh_interval_s, 1, 86400);
  if (auto n = node["min_refresh_interval_s"])
    r.read_int(n, key + ".min_refresh_interval_s", p.min_refresh_interval_s, 1, 86400);
  if (auto n = node["max_refresh_interval_s"])
    r.read_int(n, key + ".max_refresh_interval_s", p.max_refresh_interval_s, 1, 7 * 86400);
  if (p.min_refresh_interval_s > p.max_refresh_interval_s)
    r.error(node, key + ".min_refresh_interval_s", "must not exceed max_refresh_interval_s");
  if (auto n = node["fetch_timeout_ms"]) r.read_int(n, key + ".fetch_timeout_ms", p.fetch_timeout_ms, 100, 120000);
  if (auto n = node["max_stale_s"]) r.read_int(n, key + ".max_stale_s", p.max_stale_s, 0, 30LL * 86400);
  if (auto n = node["unknown_kid_wait_ms"]) r.read_int(n, key + ".unknown_kid_wait_ms", p.unknown_kid_wait_ms, 0, 30000);
}

void read_token_sources(Reader& r, const YAML::Node& node, std::vector<auth::TokenSource>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    r.error(node, "token_sources", "must be a non-empty list");
    return;
  }
  out.clear();
  bool has_protocol_source = false;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string key = "token_sources[" + std::to_string(i) + "]";
    const YAML::Node item = node[i];
    if (!r.check_map(item, key, {"header", "prefix", "cookie", "query", "websocket_protocol"})) continue;
    auth::TokenSource s;
    const int kinds = (item["header"] ? 1 : 0) + (item["cookie"] ? 1 : 0) + (item["query"] ? 1 : 0) +
                      (item["websocket_protocol"] ? 1 : 0);
    if (kinds != 1) {
      r.error(item, key, "needs exactly one of header, cookie, query, websocket_protocol");
      continue;
    }
    if (auto n = item["header"]) {
      s.kind = auth::TokenSource::Kind::Header;
      if (r.read_string(n, key + ".header", s.name) && !http::is_token(s.name))
        r.error(n, key + ".header", "is not a valid header name");
      if (auto p = item["prefix"]) r.read_string(p, key + ".prefix", s.prefix);
    } else if (auto c = item["cookie"]) {
      s.kind = auth::TokenSource::Kind::Cookie;
      if (r.read_string(c, key + ".cookie", s.name) && !http::is_token(s.name))
        r.error(c, key + ".cookie", "is not a valid cookie name");
    } else if (auto q = item["query"]) {
      s.kind = auth::TokenSource::Kind::Query;
      r.read_string(q, key + ".query", s.name);
    } else if (auto w = item["websocket_protocol"]) {
      s.kind = auth::TokenSource::Kind::WebSocketProtocol;
      if (bool on = false; r.read_bool(w, key + ".websocket_protocol", on)) {
        if (!on) {
          r.error(w, key + ".websocket_protocol", "must be true (leave the source out to turn it off)");
        } else if (has_protocol_source) {
          r.error(w, key + ".websocket_protocol", "is already a token source");
        }
        has_protocol_source = has_protocol_source || on;
      }
    }
    if (item["prefix"] && s.kind != auth::TokenSource::Kind::Header)
      r.error(item["prefix"], key + ".prefix", "applies to header sources only");
    out.push_back(std::move(s));
  }
}

void read_claim_headers(Reader& r, const YAML::Node& node, std::vector<auth::ClaimHeader>& out) {
  if (!node.IsMap()) {
    r.error(node, "claim_headers", "must be a mapping of header name -> dotted claim path");
    return;
  }
  out.clear();
  for (const auto& item : node) {
    const std::string header = item.first.Scalar();
    std::string path;
    if (!http::is_token(header)) r.error(item.first, "claim_headers." + header, "is not a valid header name");
    if (r.read_string(item.second, "claim_headers." + header, path)) out.push_back({header, path});
  }
}

}  // namespace

bool parse_http_url(std::string_view text, keys::HttpUrl& out) {
  std::string_view rest = text;
  if (rest.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    out.tls = false;
    out.port = 80;
    rest.remove_prefix(7);
  } else {
    return false;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view host = authority;
  std::string_view port;
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return false;
      port = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (!port.empty()) {
    unsigned p = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || ptr != port.data() + port.size() || p == 0 || p > 65535) return false;
    out.port = static_cast<std::uint16_t>(p);
  }
  out.host = std::string(host);
  return !out.host.empty();
}

void read_providers(Reader& r, const YAML::Node& node, std::vector<keys::ProviderSpec>& out) {
  if (!node.IsSequence()) {
    r.error(node, "providers", "must be a list");
    return;
  }
  std::set<std::string> names;
  std::set<std::string> issuers;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string key = "providers[" + std::to_string(i) + "]";
    keys::ProviderSpec p;
    read_provider(r, node[i], key, p);
    if (!p.name.empty() && !names.insert(p.name).second) r.error(node[i], key + ".name", "duplicate provider name");
    if (!p.verify.issuer.empty() && !issuers.insert(p.verify.issuer).second)
      r.error(node[i], key + ".issuer", "another provider has the same issuer (the token's iss picks the provider)");
    out.push_back(std::move(p));
  }
}

void read_auth(Reader& r, const YAML::Node& root, auth::AuthSettings& a) {
  if (auto n = root["token_sources"]) read_token_sources(r, n, a.token_sources);
  if (auto n = root["claim_headers"]) read_claim_headers(r, n, a.claim_headers);
  if (auto n = root["payload_header"]) {
    if (r.read_string(n, "payload_header", a.payload_header) && !a.payload_header.empty() &&
        !http::is_token(a.payload_header))
      r.error(n, "payload_header", "is not a valid header name");
  }
  if (auto n = root["strip_token"]) r.read_bool(n, "strip_token", a.strip_token);
  if (auto n = root["token_cache_entries"]) r.read_int(n, "token_cache_entries", a.token_cache_entries, 0, 10'000'000);
  if (auto n = root["startup_timeout_ms"]) r.read_int(n, "startup_timeout_ms", a.startup_timeout_ms, 0, 600000);
}

}  // namespace claimgate::config
