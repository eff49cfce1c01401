#include "jwks/jwks.h"

#include <simdjson.h>

#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "jwt/base64url.h"
#include "jwt/json_object.h"

namespace claimgate::jwks {
namespace {

// Why one entry was not kept: a jwks::Error or jwt::KeyError name, and whether the entry was
// malformed (warned about) or merely not meant for verifying signatures.
struct Rejection {
  std::string_view reason;
  bool malformed = true;
};

Rejection rejected(Error error) { return {to_string(error), error != Error::NotForSignatures}; }

// The members this parser reads; each must be a string when present.
struct JwkMembers {
  std::optional<std::string_view> kty, kid, alg, use, crv, n, e, x, y, k;
  std::optional<simdjson::dom::array> key_ops;
};

std::optional<std::string_view>* slot_for(JwkMembers& m, std::string_view name) {
  if (name == "kty") return &m.kty;
  if (name == "kid") return &m.kid;
  if (name == "alg") return &m.alg;
  if (name == "use") return &m.use;
  if (name == "crv") return &m.crv;
  if (name == "n") return &m.n;
  if (name == "e") return &m.e;
  if (name == "x") return &m.x;
  if (name == "y") return &m.y;
  if (name == "k") return &m.k;
  return nullptr;
}

Result<JwkMembers, Rejection> read_members(simdjson::dom::object object) {
  JwkMembers m;
  std::vector<std::string_view> names;
  for (const auto field : object) {
    names.push_back(field.key);
    if (field.key == "key_ops") {
      simdjson::dom::array ops;
      if (field.value.get_array().get(ops)) return fail(rejected(Error::BadMember));
      m.key_ops = ops;
    } else if (auto* slot = slot_for(m, field.key)) {
      std::string_view text;
      if (field.value.get_string().get(text)) return fail(rejected(Error::BadMember));
      *slot = text;
    }
  }
  if (jwt::has_duplicate_names(names)) return fail(rejected(Error::DuplicateMember));
  return m;
}

bool allows_verify(const JwkMembers& m) {
  if (m.use && *m.use != "sig") return false;
  if (!m.key_ops) return true;
  for (const auto op : *m.key_ops) {
    std::string_view text;
    if (!op.get_string().get(text) && text == "verify") return true;
  }
  return false;
}

Result<std::string, Rejection> decoded(const std::optional<std::string_view>& member) {
  if (!member) return fail(rejected(Error::MissingMember));
  std::string out;
  if (!jwt::decode_base64url(*member, out) || out.empty()) return fail(rejected(Error::BadMember));
  return out;
}

// RFC 7518 section 6.3.1: n and e use the minimum number of octets.
Result<std::string, Rejection> decoded_rsa_integer(const std::optional<std::string_view>& member) {
  auto bytes = decoded(member);
  if (bytes && bytes->front() == '\0') return fail(rejected(Error::NonMinimalInteger));
  return bytes;
}

std::optional<jwt::Curve> ec_curve(std::string_view name) {
  if (name == "P-256") return jwt::Curve::P256;
  if (name == "P-384") return jwt::Curve::P384;
  if (name == "P-521") return jwt::Curve::P521;
  return std::nullopt;
}

Result<jwt::Key, Rejection> built(Result<jwt::Key, jwt::KeyError> key) {
  if (!key) return fail(Rejection{jwt::to_string(key.error())});
  return std::move(*key);
}

Result<jwt::Key, Rejection> parse_key(simdjson::dom::element element, KeySource source) {
  simdjson::dom::object object;
  if (element.get_object().get(object)) return fail(rejected(Error::NotAnObject));
  auto members = read_members(object);
  if (!members) return fail(members.error());
  const JwkMembers& m = *members;
  if (!allows_verify(m)) return fail(rejected(Error::NotForSignatures));
  if (!m.kty) return fail(rejected(Error::MissingMember));

  std::optional<jwt::Algorithm> alg;
  if (m.alg) {
    alg = jwt::parse_algorithm(*m.alg);
    if (!alg) return fail(rejected(Error::UnsupportedAlg));
  }
  std::optional<std::string> kid;
  if (m.kid) kid = std::string(*m.kid);

  if (*m.kty == "RSA") {
    auto n = decoded_rsa_integer(m.n);
    if (!n) return fail(n.error());
    auto e = decoded_rsa_integer(m.e);
    if (!e) return fail(e.error());
    return built(jwt::Key::rsa(std::move(kid), *n, *e, alg));
  }
  if (*m.kty == "EC") {
    if (!m.crv) return fail(rejected(Error::MissingMember));
    const auto curve = ec_curve(*m.crv);
    if (!curve) return fail(rejected(Error::UnsupportedCurve));
    auto x = decoded(m.x);
    if (!x) return fail(x.error());
    auto y = decoded(m.y);
    if (!y) return fail(y.error());
    return built(jwt::Key::ec(std::move(kid), *curve, *x, *y, alg));
  }
  if (*m.kty == "OKP") {
    if (!m.crv) return fail(rejected(Error::MissingMember));
    if (*m.crv != "Ed25519") return fail(rejected(Error::UnsupportedCurve));
    auto x = decoded(m.x);
    if (!x) return fail(x.error());
    return built(jwt::Key::ed25519(std::move(kid), *x, alg));
  }
  if (*m.kty == "oct") {
    if (source != KeySource::LocalFile) return fail(rejected(Error::OctFromNetwork));
    auto k = decoded(m.k);
    if (!k) return fail(k.error());
    return built(jwt::Key::hmac(std::move(kid), *k, alg));
  }
  return fail(rejected(Error::UnsupportedKty));
}

std::string_view kid_of(simdjson::dom::element element) {
  std::string_view kid;
  if (element["kid"].get_string().get(kid)) return {};
  return kid;
}

}  // namespace

Result<jwt::KeySet, Error> parse_jwks(std::string_view json, KeySource source) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(simdjson::padded_string(json)).get(root)) return fail(Error::NotJson);
  simdjson::dom::object top;
  if (root.get_object().get(top)) return fail(Error::NoKeysArray);
  std::vector<std::string_view> names;
  for (const auto field : top) names.push_back(field.key);
  if (jwt::has_duplicate_names(names)) return fail(Error::DuplicateMember);
  simdjson::dom::array entries;
  if (top["keys"].get_array().get(entries)) return fail(Error::NoKeysArray);

  std::vector<jwt::Key> keys;
  for (const auto entry : entries) {
    auto key = parse_key(entry, source);
    if (key) {
      keys.push_back(std::move(*key));
    } else if (key.error().malformed) {
      log::warn("jwks_key_skipped", {{"kid", kid_of(entry)}, {"reason", key.error().reason}});
    } else {
      log::debug("jwks_key_ignored", {{"kid", kid_of(entry)}, {"reason", key.error().reason}});
    }
  }
  return jwt::KeySet(std::move(keys));
}

}  // namespace claimgate::jwks
