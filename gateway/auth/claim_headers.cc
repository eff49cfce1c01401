#include "auth/claim_headers.h"

#include <algorithm>

#include "core/ascii.h"

namespace claimgate::auth {
namespace {

void append_list_element(std::string& out, std::string_view element) {
  for (char c : element) {
    if (c == '%') {
      out += "%25";
    } else if (c == ',') {
      out += "%2C";
    } else {
      out += c;
    }
  }
}

// Strings as they are; everything else as its JSON text (integers in decimal, booleans
// true/false, numbers in shortest round-trip form, arrays and objects compact).
void append_scalar_or_json(std::string& out, const ClaimValue& v) {
  if (v.is_string()) {
    out += v.as_string();
  } else {
    out += to_json(v);
  }
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    append_list_element(out, item);
  }
  return out;
}

bool is_safe_header_value(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

std::string fold_header_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' || c == '.' ? '-' : ascii::to_lower(c);
  return out;
}

ClaimHeaders::ClaimHeaders(const AuthSettings& settings)
    : headers_(settings.claim_headers), payload_header_(settings.payload_header) {
  for (const ClaimHeader& h : headers_) reserved_folded_.push_back(fold_header_name(h.header));
  if (!payload_header_.empty()) reserved_folded_.push_back(fold_header_name(payload_header_));
  // Only the gateway vouches for a client certificate (proxy/forwarding appends it on TLS listeners).
  reserved_folded_.push_back("x-forwarded-client-cert");
}

bool ClaimHeaders::is_reserved(std::string_view incoming_name) const {
  // Called for every incoming header: fold on the fly rather than allocate.
  auto fold = [](char c) { return c == '_' || c == '.' ? '-' : ascii::to_lower(c); };
  return std::any_of(reserved_folded_.begin(), reserved_folded_.end(), [&](const std::string& reserved) {
    return reserved.size() == incoming_name.size() &&
           std::equal(reserved.begin(), reserved.end(), incoming_name.begin(), [&](char r, char c) { return r == fold(c); });
  });
}

std::vector<std::pair<std::string, std::string>> ClaimHeaders::values_for(const Identity& identity) const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(headers_.size() + 1);
  for (const ClaimHeader& h : headers_) {
    std::string value;
    if (h.claim_path == "roles") {
      if (identity.roles.empty()) continue;
      value = join_list(identity.roles);
    } else if (h.claim_path == "scopes") {
      if (identity.scopes.empty()) continue;
      value = join_list(identity.scopes);
    } else {
      const ClaimValue* v = identity.token.claims.find(h.claim_path);
      if (!v || v->is_null()) continue;
      if (v->is_array()) {
        bool first = true;
        for (const ClaimValue& item : v->as_array()) {
          if (!first) value += ',';
          first = false;
          std::string element;
          append_scalar_or_json(element, item);
          append_list_element(value, element);
        }
      } else {
        append_scalar_or_json(value, *v);
      }
    }
    if (is_safe_header_value(value)) out.emplace_back(h.header, std::move(value));
  }
  if (!payload_header_.empty()) out.emplace_back(payload_header_, identity.payload_segment);
  return out;
}

}  // namespace claimgate::auth
