// jwt::peek_issuer and jwt::verify over a real key set (tests/fuzz/keys/jwks.json: EdDSA, ES256,
// RS256 and an HS256 secret), with five option sets (two asymmetric, three HS256).
//
// Two modes, chosen by the first byte:
// - token mode (anything but '{'): the whole input is the token, so that the seeds in corpus/jwt
//   reach the signature and the claim checks;
// - signing mode ('{', the start of a JOSE header): "HEADER_JSON\nPAYLOAD_JSON". The target
//   base64url-encodes both, signs them with the key set's HS256 secret and verifies the result,
//   so that mutated claims get past the signature. The header and payload are then parsed again
//   with simdjson here, independently of jwt/, and every outcome is checked against them: a
//   verified token has an allowed algorithm, exp after now - leeway, nbf and iat not after
//   now + leeway, the lifetime bound, a configured audience, the required (dotted) claims,
//   no repeated member and no deeper nesting than kMaxJsonDepth; a refused one is refused for a
//   reason its JSON shows (Expired only when exp <= now - leeway, and so on).
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "fuzz_input.h"
#include "jwks/jwks.h"
#include "jwt/json_object.h"
#include "jwt/verify.h"

using namespace claimgate;

namespace {
constexpr std::int64_t kNow = 1700000000;  // make_corpus.py NOW

const jwt::KeySet& key_set() {
  static const jwt::KeySet keys = [] {
    auto parsed = jwks::parse_jwks(fuzz::read_fixture(CLAIMGATE_FUZZ_JWKS), jwks::KeySource::LocalFile);
    if (!parsed || parsed->size() != 4) std::abort();
    return *std::move(parsed);
  }();
  return keys;
}

// The HS256 secret of the fixture key set (its one "oct" key, kid "hs").
std::string_view hmac_secret() {
  static const std::string secret = [] {
    for (const jwt::Key& key : key_set().keys()) {
      if (key.type() == jwt::KeyType::Oct) return std::string(key.raw_bytes());
    }
    std::abort();
  }();
  return secret;
}

std::vector<jwt::VerifyOptions> option_sets() {
  jwt::VerifyOptions strict;
  strict.allowed_algorithms = {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256, jwt::Algorithm::RS256,
                               jwt::Algorithm::PS256};
  strict.issuer = "https://issuer.fuzz.example";
  strict.audiences = {"fuzz-api", "other-api"};
  strict.max_lifetime_s = 7200;
  strict.required_claims = {"sub", "permissions.pma.role"};

  jwt::VerifyOptions lenient;
  lenient.allowed_algorithms = {jwt::Algorithm::EdDSA, jwt::Algorithm::ES256, jwt::Algorithm::RS256};
  lenient.issuer = "https://issuer.fuzz.example";
  lenient.leeway_s = 86400;
  lenient.require_exp = false;
  lenient.max_token_bytes = 1 << 20;

  jwt::VerifyOptions hmac;
  hmac.allowed_algorithms = {jwt::Algorithm::HS256};
  hmac.issuer = "https://issuer.fuzz.example";
  hmac.audiences = {"fuzz-api"};

  // HS256 with a leeway, a lifetime bound and dotted required claims.
  jwt::VerifyOptions hmac_window;
  hmac_window.allowed_algorithms = {jwt::Algorithm::HS256};
  hmac_window.issuer = "https://issuer.fuzz.example";
  hmac_window.audiences = {"fuzz-api", "other-api"};
  hmac_window.leeway_s = 300;
  hmac_window.max_lifetime_s = 3600;
  hmac_window.required_claims = {"sub", "permissions.pma.role", "a.b"};

  // HS256 with no exp required, no audience check and a day of leeway.
  jwt::VerifyOptions hmac_open;
  hmac_open.allowed_algorithms = {jwt::Algorithm::HS256, jwt::Algorithm::HS384};
  hmac_open.issuer = "https://issuer.fuzz.example";
  hmac_open.leeway_s = 86400;
  hmac_open.require_exp = false;
  return {strict, lenient, hmac, hmac_window, hmac_open};
}

// --- signing mode -------------------------------------------------------------------------------

// RFC 4648 section 5 without padding; written here rather than taken from jwt/ so that the
// decoder is checked against another encoder.
std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string hs256(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_size)) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_size);
}

// A JSON document parsed by simdjson on its own, for the oracle below.
struct Doc {
  simdjson::dom::parser parser;  // default depth limit (1024), far above jwt's
  simdjson::padded_string text;
  simdjson::dom::element root;
  simdjson::error_code error = simdjson::UNINITIALIZED;

  void parse(std::string_view json) {
    text = simdjson::padded_string(json);
    error = parser.parse(text).get(root);
  }
  // Valid JSON whose top level is an object.
  bool is_object() const { return !error && root.is_object(); }
  // A top-level member by exact name, as the JOSE header is read.
  std::optional<simdjson::dom::element> member(std::string_view name) const {
    if (!is_object()) return std::nullopt;
    auto value = root[name];
    if (value.error()) return std::nullopt;
    return value.value_unsafe();
  }
};

using simdjson::dom::element;

// Claims::find's documented rule, over simdjson: at each level, the member whose name is the
// whole rest of the path, else the longest name followed by '.'.
std::optional<element> find_claim(element node, std::string_view path) {
  while (true) {
    if (path.empty() || !node.is_object()) return std::nullopt;
    std::optional<element> best;
    std::size_t best_len = 0;
    for (const auto field : node.get_object().value_unsafe()) {
      const std::string_view key = field.key;
      if (key == path) return field.value;
      if (path.size() > key.size() && path.starts_with(key) && path[key.size()] == '.' &&
          (!best || key.size() > best_len)) {
        best = field.value;
        best_len = key.size();
      }
    }
    if (!best) return std::nullopt;
    node = *best;
    path.remove_prefix(best_len + 1);
  }
}

// Nesting of containers, the top-level object counting 1 (jwt's kMaxJsonDepth counts so).
std::size_t nesting(element e) {
  std::size_t deepest = 0;
  if (e.is_object()) {
    for (const auto field : e.get_object().value_unsafe()) deepest = std::max(deepest, nesting(field.value));
    return deepest + 1;
  }
  if (e.is_array()) {
    for (const element item : e.get_array().value_unsafe()) deepest = std::max(deepest, nesting(item));
    return deepest + 1;
  }
  return 0;
}

bool has_repeated_member(element e) {
  if (e.is_object()) {
    std::vector<std::string_view> names;
    for (const auto field : e.get_object().value_unsafe()) {
      names.push_back(field.key);
      if (has_repeated_member(field.value)) return true;
    }
    std::ranges::sort(names);
    return std::ranges::adjacent_find(names) != names.end();
  }
  if (e.is_array()) {
    for (const element item : e.get_array().value_unsafe()) {
      if (has_repeated_member(item)) return true;
    }
  }
  return false;
}

std::optional<std::string_view> string_of(const std::optional<element>& e) {
  if (!e || !e->is_string()) return std::nullopt;
  return e->get_string().value_unsafe();
}

// What the oracle reads from the claims for one option set.
struct ClaimFacts {
  std::optional<element> iss, sub, exp, nbf, iat, aud;
  bool audience_ok = false;          // aud names a configured audience (or none is configured)
  bool required_ok = true;           // every required claim present and not null
  bool expired = false;              // exp <= now - leeway
  bool not_yet_valid = false;        // nbf > now + leeway
  bool issued_in_future = false;     // iat > now + leeway
  bool lifetime_too_long = false;    // exp - (iat or now) > max_lifetime_s
};

bool in_list(std::string_view name, const std::vector<std::string>& list) {
  return std::ranges::find(list, name) != list.end();
}

ClaimFacts read_claims(element root, const jwt::VerifyOptions& o) {
  ClaimFacts f;
  f.iss = find_claim(root, "iss");
  f.sub = find_claim(root, "sub");
  f.exp = find_claim(root, "exp");
  f.nbf = find_claim(root, "nbf");
  f.iat = find_claim(root, "iat");
  f.aud = find_claim(root, "aud");
  // now - leeway and now + leeway are exact as doubles here, so these comparisons are exact.
  const auto lower = static_cast<double>(kNow - o.leeway_s);
  const auto upper = static_cast<double>(kNow + o.leeway_s);
  if (f.exp && f.exp->is_number()) f.expired = f.exp->get_double().value_unsafe() <= lower;
  if (f.nbf && f.nbf->is_number()) f.not_yet_valid = f.nbf->get_double().value_unsafe() > upper;
  if (f.iat && f.iat->is_number()) f.issued_in_future = f.iat->get_double().value_unsafe() > upper;
  if (o.max_lifetime_s && f.exp && f.exp->is_number()) {
    const double start = f.iat && f.iat->is_number() ? f.iat->get_double().value_unsafe() : static_cast<double>(kNow);
    f.lifetime_too_long = f.exp->get_double().value_unsafe() - start > static_cast<double>(*o.max_lifetime_s);
  }
  f.audience_ok = o.audiences.empty();
  if (!f.audience_ok && f.aud) {
    if (auto name = string_of(f.aud)) {
      f.audience_ok = in_list(*name, o.audiences);
    } else if (f.aud->is_array()) {
      bool all_strings = true;
      bool any_configured = false;
      for (const element item : f.aud->get_array().value_unsafe()) {
        auto item_name = string_of(item);
        all_strings = all_strings && item_name.has_value();
        any_configured = any_configured || (item_name && in_list(*item_name, o.audiences));
      }
      f.audience_ok = all_strings && any_configured;
    }
  }
  for (const std::string& path : o.required_claims) {
    auto value = find_claim(root, path);
    if (!value || value->is_null()) f.required_ok = false;
  }
  return f;
}

std::int64_t expected_expires_at(double exp) {
  if (exp >= 0x1p63) return std::numeric_limits<std::int64_t>::max();
  if (exp <= -0x1p63) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::floor(exp));
}

void check_signed(const std::string& token, const Doc& header, const Doc& payload, const jwt::VerifyOptions& o,
                  const Result<jwt::VerifiedToken, jwt::Error>& verified) {
  using jwt::Error;

  if (verified) {
    // The algorithm is one the options allow, and the one this target signed with.
    if (std::ranges::find(o.allowed_algorithms, verified->alg) == o.allowed_algorithms.end()) std::abort();
    if (verified->alg != jwt::Algorithm::HS256) std::abort();
    if (!header.is_object() || !payload.is_object()) std::abort();
    if (string_of(header.member("alg")) != "HS256" || header.member("crit")) std::abort();
    const auto kid = header.member("kid");
    if (kid ? string_of(kid) != verified->kid : verified->kid.has_value()) std::abort();
    for (const Doc* doc : {&header, &payload}) {
      if (nesting(doc->root) > jwt::kMaxJsonDepth || has_repeated_member(doc->root)) std::abort();
    }

    const ClaimFacts f = read_claims(payload.root, o);
    if (string_of(f.iss) != o.issuer || verified->issuer != o.issuer) std::abort();
    if (f.sub ? (!f.sub->is_string() || string_of(f.sub) != verified->subject) : verified->subject.has_value())
      std::abort();
    // exp, when present, is after now - leeway; it may be absent only when nothing requires it.
    if (f.exp) {
      if (!f.exp->is_number() || f.expired) std::abort();
      if (verified->expires_at != expected_expires_at(f.exp->get_double().value_unsafe())) std::abort();
    } else if (o.require_exp || o.max_lifetime_s || verified->expires_at) {
      std::abort();
    }
    // nbf and iat, when present, are not after now + leeway.
    if (f.nbf && (!f.nbf->is_number() || f.not_yet_valid)) std::abort();
    if (f.iat && (!f.iat->is_number() || f.issued_in_future)) std::abort();
    if (f.lifetime_too_long) std::abort();
    // When the options name audiences, aud names one of them.
    if (!f.audience_ok || !f.required_ok) std::abort();
    return;
  }

  // A refusal names something that is really wrong with the token.
  const auto fact = [&](bool holds) {
    if (!holds) std::abort();
  };
  const auto header_alg = string_of(header.member("alg"));
  switch (verified.error()) {
    case Error::TokenTooLarge: fact(token.size() > o.max_token_bytes); break;
    case Error::Malformed:
      // The target builds three segments; only an empty payload or a kid that is not a string
      // is malformed.
      fact(payload.text.size() == 0 || (header.member("kid") && !string_of(header.member("kid"))));
      break;
    case Error::BadBase64: fact(false); break;  // the target's encoding is canonical
    case Error::BadJson: fact(!header.is_object() || (!payload.is_object() && header_alg == "HS256")); break;
    case Error::JsonTooDeep:
      // jwt/'s parser stops at its depth limit before it would find a later syntax error, so
      // a document this parser refuses may be too deep there.
      fact(!header.is_object() || !payload.is_object() || nesting(header.root) > jwt::kMaxJsonDepth ||
           nesting(payload.root) > jwt::kMaxJsonDepth);
      break;
    case Error::DuplicateMember:
      fact((header.is_object() && has_repeated_member(header.root)) ||
           (payload.is_object() && has_repeated_member(payload.root)));
      break;
    case Error::MissingAlg: fact(header.is_object() && !header_alg); break;
    case Error::AlgNotAllowed:
      fact(header_alg && std::ranges::none_of(o.allowed_algorithms, [&](jwt::Algorithm a) {
             return jwt::to_string(a) == *header_alg;
           }));
      break;
    case Error::UnsupportedCrit: fact(header.member("crit").has_value()); break;
    // The target signed header.payload with the HS256 key, so an HS256 token cannot fail here.
    case Error::BadSignature: fact(header_alg != "HS256"); break;
    default: break;
  }
  // Claim errors: the payload parsed, the header names HS256, and the claim is really at fault.
  switch (verified.error()) {
    case Error::MissingIssuer:
    case Error::WrongIssuer:
    case Error::BadSubject:
    case Error::MissingExp:
    case Error::BadExp:
    case Error::BadNbf:
    case Error::BadIat:
    case Error::Expired:
    case Error::NotYetValid:
    case Error::IssuedInFuture:
    case Error::LifetimeTooLong:
    case Error::WrongAudience:
    case Error::MissingRequiredClaim: fact(payload.is_object() && header_alg == "HS256"); break;
    default: return;
  }
  const ClaimFacts f = read_claims(payload.root, o);
  const auto not_number = [](const std::optional<element>& e) { return e && !e->is_number(); };
  switch (verified.error()) {
    case Error::MissingIssuer: fact(!f.iss); break;
    case Error::WrongIssuer: fact(f.iss && string_of(f.iss) != o.issuer); break;
    case Error::BadSubject: fact(f.sub && !f.sub->is_string()); break;
    case Error::MissingExp: fact(!f.exp && (o.require_exp || o.max_lifetime_s)); break;
    case Error::BadExp: fact(not_number(f.exp)); break;
    case Error::BadNbf: fact(not_number(f.nbf)); break;
    case Error::BadIat: fact(not_number(f.iat)); break;
    case Error::Expired: fact(f.expired); break;
    case Error::NotYetValid: fact(f.not_yet_valid); break;
    case Error::IssuedInFuture: fact(f.issued_in_future); break;
    case Error::LifetimeTooLong: fact(f.lifetime_too_long); break;
    case Error::WrongAudience: fact(!f.audience_ok); break;
    case Error::MissingRequiredClaim: fact(!f.required_ok); break;
    default: break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<jwt::VerifyOptions> options = option_sets();
  const bool signing = size > 0 && data[0] == '{';
  std::string token;
  static Doc header;
  static Doc payload;
  if (signing) {
    std::string_view input = fuzz::as_view(data, size);
    const std::string_view header_json = fuzz::take_field(input);
    const std::string_view payload_json = input;
    header.parse(header_json);
    payload.parse(payload_json);
    token = base64url(header_json) + '.' + base64url(payload_json);
    token += '.' + base64url(hs256(hmac_secret(), token));
    token.shrink_to_fit();
  } else {
    token.assign(fuzz::as_view(data, size));  // an exact-size heap copy, for ASan
  }

  static const bool verbose = std::getenv("CLAIMGATE_FUZZ_VERBOSE") != nullptr;  // to check seeds
  auto issuer = jwt::peek_issuer(token);
  for (const auto& o : options) {
    auto verified = jwt::verify(token, key_set(), o, kNow);
    if (verbose) {
      const auto outcome = verified ? std::string_view("verified") : jwt::to_string(verified.error());
      std::fprintf(stderr, "fuzz_jwt: %.*s\n", static_cast<int>(outcome.size()), outcome.data());
    }
    if (verified) {
      // A verified token names the configured issuer, and peek_issuer agrees with it.
      if (verified->issuer != o.issuer || !issuer || *issuer != verified->issuer) std::abort();
      (void)verified->claims.find("sub");
    }
    if (signing) check_signed(token, header, payload, o, verified);
  }
  return 0;
}
