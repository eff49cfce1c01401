#include "jwt/verify.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "jwt/base64url.h"
#include "jwt/json_object.h"
#include "jwt/signature.h"

namespace claimgate::jwt {
namespace {

bool decode_json_text(std::string_view segment, std::string& json) {
  json.reserve(segment.size() / 4 * 3 + 3 + kJsonPadding);
  return decode_base64url(segment, json);
}

// Decode buffers reused by every verification on a thread, so their capacity is paid once.
struct DecodeBuffers {
  std::string header;
  std::string payload;
  std::string signature;
};

DecodeBuffers& thread_buffers() {
  thread_local DecodeBuffers buffers;
  buffers.header.clear();
  buffers.payload.clear();
  buffers.signature.clear();
  return buffers;
}

struct Header {
  Algorithm alg;
  std::optional<std::string> kid;
};

Result<Header, Error> check_header(std::string_view segment, const VerifyOptions& options, std::string& json) {
  if (!decode_json_text(segment, json)) return fail(Error::BadBase64);
  auto members = parse_header_members(json);
  if (!members) return fail(members.error());
  if (!members->alg || !members->alg->is_string()) return fail(Error::MissingAlg);
  const std::string& alg_name = members->alg->as_string();
  if (is_none_algorithm(alg_name)) return fail(Error::AlgNone);
  const auto alg = parse_algorithm(alg_name);
  if (!alg || std::ranges::find(options.allowed_algorithms, *alg) == options.allowed_algorithms.end()) {
    return fail(Error::AlgNotAllowed);
  }
  if (members->has_crit) return fail(Error::UnsupportedCrit);
  Header out{*alg, std::nullopt};
  if (members->kid) {
    if (!members->kid->is_string()) return fail(Error::Malformed);
    out.kid = members->kid->as_string();
  }
  return out;
}

// A NumericDate (RFC 7519 section 2): any JSON number; nullopt when the claim is absent.
Result<std::optional<double>, Error> numeric_date(const Claims& claims, std::string_view name,
                                                  Error if_not_number) {
  const ClaimValue* value = claims.find(name);
  if (!value) return std::optional<double>();
  if (!value->is_number()) return fail(if_not_number);
  return std::optional<double>(value->as_number());
}

bool names_an_audience(const ClaimValue& aud, const std::vector<std::string>& audiences) {
  const auto configured = [&audiences](const std::string& name) {
    return std::ranges::find(audiences, name) != audiences.end();
  };
  if (aud.is_string()) return configured(aud.as_string());
  if (!aud.is_array()) return false;
  const auto& items = aud.as_array();
  if (!std::ranges::all_of(items, &ClaimValue::is_string)) return false;
  return std::ranges::any_of(items, [&](const ClaimValue& item) { return configured(item.as_string()); });
}

std::int64_t floor_to_int64(double v) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<std::int64_t>::max());
  if (v >= kMax) return std::numeric_limits<std::int64_t>::max();
  if (v <= -kMax) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::floor(v));
}

Result<void, Error> check_claims(const Claims& claims, const VerifyOptions& options, std::int64_t now_unix_s,
                                 VerifiedToken& out) {
  const ClaimValue* iss = claims.find("iss");
  if (!iss) return fail(Error::MissingIssuer);
  if (!iss->is_string() || iss->as_string() != options.issuer) return fail(Error::WrongIssuer);
  out.issuer = iss->as_string();

  if (const ClaimValue* sub = claims.find("sub")) {
    if (!sub->is_string()) return fail(Error::BadSubject);
    out.subject = sub->as_string();
  }

  const auto exp = numeric_date(claims, "exp", Error::BadExp);
  if (!exp) return fail(exp.error());
  const auto nbf = numeric_date(claims, "nbf", Error::BadNbf);
  if (!nbf) return fail(nbf.error());
  const auto iat = numeric_date(claims, "iat", Error::BadIat);
  if (!iat) return fail(iat.error());

  const double now = static_cast<double>(now_unix_s);
  const double leeway = static_cast<double>(options.leeway_s);
  if (!*exp && (options.require_exp || options.max_lifetime_s)) return fail(Error::MissingExp);
  if (*exp) {
    if (now >= **exp + leeway) return fail(Error::Expired);
    out.expires_at = floor_to_int64(**exp);
  }
  if (*nbf && now + leeway < **nbf) return fail(Error::NotYetValid);
  if (*iat && **iat > now + leeway) return fail(Error::IssuedInFuture);
  if (options.max_lifetime_s) {
    const double start = *iat ? **iat : now;
    if (**exp - start > static_cast<double>(*options.max_lifetime_s)) return fail(Error::LifetimeTooLong);
  }

  if (!options.audiences.empty()) {
    const ClaimValue* aud = claims.find("aud");
    if (!aud || !names_an_audience(*aud, options.audiences)) return fail(Error::WrongAudience);
  }

  for (const std::string& path : options.required_claims) {
    const ClaimValue* value = claims.find(path);
    if (!value || value->is_null()) return fail(Error::MissingRequiredClaim);
  }
  return {};
}

// Everything after the issuer is known. `payload_parsed`: parse_payload() already ran on this
// token's payload (decoded into buffers.payload); otherwise it is decoded and parsed only once
// the signature holds, as the keyed verify() always did.
Result<VerifiedToken, Error> verify_segments(const TokenSegments& segments, const KeySet& keys,
                                             const VerifyOptions& options, std::int64_t now_unix_s,
                                             DecodeBuffers& buffers, bool payload_parsed) {
  auto header = check_header(segments.header, options, buffers.header);
  if (!header) return fail(header.error());

  const std::optional<std::string_view> kid =
      header->kid ? std::optional<std::string_view>(*header->kid) : std::nullopt;
  const auto key = keys.select(header->alg, kid);
  if (!key) return fail(key.error());

  if ((!payload_parsed && !decode_json_text(segments.payload, buffers.payload)) ||
      !decode_base64url(segments.signature, buffers.signature)) {
    return fail(Error::BadBase64);
  }
  const auto signed_ok = verify_signature(header->alg, **key, segments.signing_input, buffers.signature);
  if (!signed_ok) return fail(signed_ok.error());

  // Only a payload whose signature holds is turned into claims.
  if (!payload_parsed) {
    const auto parsed = parse_payload(buffers.payload);
    if (!parsed) return fail(parsed.error());
  }
  auto claim_members = payload_claims();
  if (!claim_members) return fail(claim_members.error());

  VerifiedToken out{Claims(std::move(*claim_members)), header->alg, std::move(header->kid), {}, {}, {}};
  const auto checked = check_claims(out.claims, options, now_unix_s, out);
  if (!checked) return fail(checked.error());
  return out;
}

}  // namespace

Result<VerifiedToken, Error> verify(std::string_view token, const KeySet& keys, const VerifyOptions& options,
                                    std::int64_t now_unix_s) {
  const auto segments = split_token(token, options.max_token_bytes);
  if (!segments) return fail(segments.error());
  return verify_segments(*segments, keys, options, now_unix_s, thread_buffers(), false);
}

Result<VerifiedToken, Error> verify(std::string_view token, IssuerResolver& resolver, std::int64_t now_unix_s,
                                    std::size_t max_token_bytes) {
  const auto segments = split_token(token, max_token_bytes);
  if (!segments) return fail(segments.error());
  DecodeBuffers& buffers = thread_buffers();
  if (!decode_json_text(segments->payload, buffers.payload)) return fail(Error::BadBase64);
  const auto parsed = parse_payload(buffers.payload);
  if (!parsed) return fail(parsed.error());
  const auto issuer = payload_string_member("iss", Error::MissingIssuer);
  if (!issuer) return fail(issuer.error());
  const std::optional<IssuerBinding> binding = resolver.resolve(*issuer);
  if (!binding) return fail(Error::WrongIssuer);
  if (token.size() > binding->options->max_token_bytes) {
    return fail(Error::TokenTooLarge);
  }
  return verify_segments(*segments, *binding->keys, *binding->options, now_unix_s, buffers, true);
}

Result<std::string, Error> peek_issuer(std::string_view token, std::size_t max_token_bytes) {
  const auto segments = split_token(token, max_token_bytes);
  if (!segments) return fail(segments.error());
  std::string json;
  if (!decode_json_text(segments->payload, json)) return fail(Error::BadBase64);
  return peek_string_member(json, "iss", Error::MissingIssuer);
}

}  // namespace claimgate::jwt
