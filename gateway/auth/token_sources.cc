#include "auth/token_sources.h"

#include <algorithm>
#include <optional>
#include <string>

#include "core/ascii.h"
#include "http/request_head.h"
#include "jwt/base64url.h"

namespace claimgate::auth {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// b64token (RFC 6750 section 2.1): 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
constexpr ascii::CharSet kB64TokenChars = ascii::kAlnum.with("-._~+/");

bool is_b64token(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size() && kB64TokenChars.contains(t[i])) ++i;
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

struct Cookie {
  std::string_view name;
  std::string_view value;
};

template <class F>
void for_each_cookie(std::string_view header, F&& f) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const std::string_view pair = trim(header.substr(0, semi));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      f(Cookie{trim(pair.substr(0, eq)), value}, pair);
    } else if (!pair.empty()) {
      f(Cookie{{}, pair}, pair);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
}

Result<std::optional<std::string_view>, ExtractionError> from_header(const TokenSource& s, HeaderList headers) {
  std::optional<std::string_view> value;
  for (const auto& [name, v] : headers) {
    if (!http::iequals(name, s.name)) continue;
    if (value) return fail(ExtractionError::DuplicateHeader);
    value = v;
  }
  if (!value) return std::optional<std::string_view>{};
  std::string_view v = trim(*value);
  if (!s.prefix.empty()) {
    // "Bearer" alone is a bearer scheme without credentials, not an absent token.
    if (http::iequals(v, trim(s.prefix))) return fail(ExtractionError::MalformedCredentials);
    // The scheme compares case-insensitively; the separating space must be there.
    if (v.size() < s.prefix.size() || !http::iequals(v.substr(0, s.prefix.size()), s.prefix))
      return std::optional<std::string_view>{};
    v = trim(v.substr(s.prefix.size()));
  }
  if (!is_b64token(v)) return fail(ExtractionError::MalformedCredentials);
  return std::optional<std::string_view>{v};
}

Result<std::optional<std::string_view>, ExtractionError> from_cookie(const TokenSource& s, HeaderList headers) {
  std::optional<std::string_view> value;
  bool conflict = false;
  for (const auto& [name, header] : headers) {
    if (!http::iequals(name, "cookie")) continue;
    for_each_cookie(header, [&](const Cookie& c, std::string_view) {
      if (c.name != s.name) return;
      if (value && *value != c.value) conflict = true;
      value = c.value;
    });
  }
  if (conflict) return fail(ExtractionError::ConflictingCookies);
  if (!value) return std::optional<std::string_view>{};
  if (!is_b64token(*value)) return fail(ExtractionError::MalformedCredentials);
  return value;
}

Result<std::optional<std::string_view>, ExtractionError> from_query(const TokenSource& s, std::string_view query) {
  std::optional<std::string_view> value;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == s.name) {
      if (value && *value != pair.substr(eq + 1)) return fail(ExtractionError::DuplicateHeader);
      value = pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (value && !is_b64token(*value)) return fail(ExtractionError::MalformedCredentials);
  return value;
}

// Every Sec-WebSocket-Protocol line counts: the header is a list that may be split across lines.
Result<std::optional<std::string_view>, ExtractionError> from_protocol(HeaderList headers, std::string& decoded) {
  std::optional<std::string_view> entry;
  bool duplicate = false;
  for (const auto& [name, value] : headers) {
    if (!http::iequals(name, "sec-websocket-protocol")) continue;
    http::for_each_list_member(value, [&](std::string_view protocol) {
      if (!protocol.starts_with(kProtocolTokenPrefix)) return;
      duplicate = duplicate || entry.has_value();
      entry = protocol.substr(kProtocolTokenPrefix.size());
    });
  }
  if (duplicate) return fail(ExtractionError::DuplicateHeader);
  if (!entry) return std::optional<std::string_view>{};
  decoded.clear();
  if (entry->empty() || !jwt::decode_base64url(*entry, decoded) || !is_b64token(decoded))
    return fail(ExtractionError::MalformedCredentials);
  return std::optional<std::string_view>{decoded};
}

}  // namespace

std::string_view to_string(ExtractionError error) {
  switch (error) {
    case ExtractionError::DuplicateHeader: return "duplicate_credentials";
    case ExtractionError::ConflictingCookies: return "conflicting_cookies";
    case ExtractionError::MalformedCredentials: return "malformed_credentials";
  }
  return "malformed_credentials";
}

std::string_view describe(ExtractionError error) {
  switch (error) {
    case ExtractionError::DuplicateHeader:
      return "The request carries the token header (or query parameter, or subprotocol entry) more than once.";
    case ExtractionError::ConflictingCookies: return "The request carries the token cookie twice with different values.";
    case ExtractionError::MalformedCredentials: return "The credentials are not a single bearer token.";
  }
  return "Malformed credentials.";
}

Result<void, ExtractionError> find_tokens(std::span<const TokenSource> sources, const TokenRequest& request,
                                          std::vector<FoundToken>& found, std::string& decoded) {
  found.clear();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const TokenSource& s = sources[i];
    Result<std::optional<std::string_view>, ExtractionError> token = std::optional<std::string_view>{};
    switch (s.kind) {
      case TokenSource::Kind::Header: token = from_header(s, request.headers); break;
      case TokenSource::Kind::Cookie: token = from_cookie(s, request.headers); break;
      case TokenSource::Kind::Query: token = from_query(s, request.query); break;
      case TokenSource::Kind::WebSocketProtocol:
        if (request.websocket_handshake) token = from_protocol(request.headers, decoded);
        break;
    }
    if (!token) return fail(token.error());
    if (*token) found.push_back({**token, i});
  }
  return {};
}

Result<std::vector<FoundToken>, ExtractionError> find_tokens(std::span<const TokenSource> sources, HeaderList headers,
                                                            std::string_view query) {
  std::vector<FoundToken> found;
  std::string unused;  // read only for handshakes
  if (auto ok = find_tokens(sources, TokenRequest{headers, query}, found, unused); !ok) return fail(ok.error());
  return found;
}

std::string remove_cookie(std::string_view cookie_header, std::string_view name) {
  std::string out;
  for_each_cookie(cookie_header, [&](const Cookie& c, std::string_view pair) {
    if (c.name == name) return;
    if (!out.empty()) out += "; ";
    out += pair;
  });
  return out;
}

std::string remove_protocol_token(std::string_view protocols) {
  std::string out;
  http::for_each_list_member(protocols, [&](std::string_view protocol) {
    if (protocol.starts_with(kProtocolTokenPrefix)) return;
    if (!out.empty()) out += ", ";
    out += protocol;
  });
  return out;
}

std::string remove_query_parameter(std::string_view query, std::string_view name) {
  std::string out;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::string_view key = pair.substr(0, pair.find('='));
    if (!pair.empty() && key != name) {
      if (!out.empty()) out += '&';
      out += pair;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace claimgate::auth
