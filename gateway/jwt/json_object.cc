#include "jwt/json_object.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace claimgate::jwt {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);
constexpr std::size_t kInitialCapacity = 16 * 1024;

simdjson::dom::parser make_parser() {
  simdjson::dom::parser p;
  // simdjson's own limit sits above ours so that ours decides the boundary; it only guards
  // documents deep enough to matter to its fixed-size stacks.
  // A failed allocation shows up again as a parse error.
  [[maybe_unused]] const auto error = p.allocate(kInitialCapacity, kMaxJsonDepth + 2);
  return p;
}

// Three parsers per thread: a parsed document lives until its parser's next parse, and the
// payload document is read before and after the header is parsed.
enum class ParserUse { General, Header, Payload };

simdjson::dom::parser& thread_parser(ParserUse use = ParserUse::General) {
  thread_local simdjson::dom::parser general = make_parser();
  thread_local simdjson::dom::parser header = make_parser();
  thread_local simdjson::dom::parser payload = make_parser();
  switch (use) {
    case ParserUse::Header: return header;
    case ParserUse::Payload: return payload;
    case ParserUse::General: break;
  }
  return general;
}

Result<simdjson::dom::object, Error> parse_padded_object(std::string& json, ParserUse use = ParserUse::General) {
  const std::size_t size = json.size();
  json.append(kJsonPadding, '\0');
  simdjson::dom::object object;
  const auto error = thread_parser(use).parse(json.data(), size, false).get(object);
  json.resize(size);
  if (error == simdjson::DEPTH_ERROR) return fail(Error::JsonTooDeep);
  if (error) return fail(Error::BadJson);
  return object;
}

// Member names of one object, checked for repeats as they arrive: a linear scan over a small
// inline array (JWT objects have a handful of members), one sort when there are more.
class NameSet {
 public:
  // False when `name` repeats one already inserted into the inline array.
  bool insert(std::string_view name) {
    if (spill_.empty()) {
      for (std::size_t i = 0; i < count_; ++i) {
        if (inline_[i] == name) return false;
      }
      if (count_ < inline_.size()) {
        inline_[count_++] = name;
        return true;
      }
      spill_.assign(inline_.begin(), inline_.end());
    }
    spill_.push_back(name);
    return true;
  }

  // The final check for objects too large for the inline array.
  bool has_repeats() { return !spill_.empty() && has_duplicate_names(spill_); }

 private:
  std::array<std::string_view, 16> inline_{};
  std::size_t count_ = 0;
  std::vector<std::string_view> spill_;
};

Result<ClaimValue, Error> to_claim_value(simdjson::dom::element element, std::size_t depth);

Result<ClaimValue::Object, Error> to_object(simdjson::dom::object object, std::size_t depth) {
  if (depth > kMaxJsonDepth) return fail(Error::JsonTooDeep);
  ClaimValue::Object members;
  members.reserve(object.size());
  NameSet names;
  for (const auto field : object) {
    if (!names.insert(field.key)) return fail(Error::DuplicateMember);
    auto value = to_claim_value(field.value, depth);
    if (!value) return fail(value.error());
    members.emplace_back(std::string(field.key), std::move(*value));
  }
  if (names.has_repeats()) return fail(Error::DuplicateMember);
  return members;
}

// `depth` is the nesting level of the container holding `element`.
Result<ClaimValue, Error> to_claim_value(simdjson::dom::element element, std::size_t depth) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      simdjson::dom::object members;
      if (element.get(members)) return fail(Error::BadJson);
      auto object = to_object(members, depth + 1);
      if (!object) return fail(object.error());
      return ClaimValue(std::move(*object));
    }
    case Type::ARRAY: {
      if (depth + 1 > kMaxJsonDepth) return fail(Error::JsonTooDeep);
      simdjson::dom::array array;
      if (element.get(array)) return fail(Error::BadJson);
      ClaimValue::Array items;
      items.reserve(array.size());
      for (const auto item : array) {
        auto value = to_claim_value(item, depth + 1);
        if (!value) return fail(value.error());
        items.push_back(std::move(*value));
      }
      return ClaimValue(std::move(items));
    }
    case Type::STRING: return ClaimValue(element.get_string().value_unsafe());
    case Type::INT64: return ClaimValue(element.get_int64().value_unsafe());
    case Type::UINT64: return ClaimValue(static_cast<double>(element.get_uint64().value_unsafe()));
    case Type::DOUBLE: return ClaimValue(element.get_double().value_unsafe());
    case Type::BOOL: return ClaimValue(element.get_bool().value_unsafe());
    case Type::NULL_VALUE: return ClaimValue(nullptr);
  }
  return fail(Error::BadJson);
}

}  // namespace

bool has_duplicate_names(std::vector<std::string_view>& names) {
  std::ranges::sort(names);
  return std::ranges::adjacent_find(names) != names.end();
}

Result<ClaimValue::Object, Error> parse_json_object(std::string& json) {
  const auto object = parse_padded_object(json);
  if (!object) return fail(object.error());
  return to_object(*object, 1);
}

Result<HeaderMembers, Error> parse_header_members(std::string& json) {
  const auto object = parse_padded_object(json, ParserUse::Header);
  if (!object) return fail(object.error());
  HeaderMembers out;
  NameSet names;
  for (const auto field : *object) {
    if (!names.insert(field.key)) return fail(Error::DuplicateMember);
    auto value = to_claim_value(field.value, 1);
    if (!value) return fail(value.error());
    if (field.key == "alg") {
      out.alg = std::move(*value);
    } else if (field.key == "kid") {
      out.kid = std::move(*value);
    } else if (field.key == "crit") {
      out.has_crit = true;
    }
  }
  if (names.has_repeats()) return fail(Error::DuplicateMember);
  return out;
}

Result<std::string, Error> peek_string_member(std::string& json, std::string_view name, Error if_absent) {
  const auto object = parse_padded_object(json);
  if (!object) return fail(object.error());
  std::string_view value;
  if ((*object)[name].get(value)) return fail(if_absent);
  return std::string(value);
}

namespace {
thread_local simdjson::dom::object payload_object;
thread_local bool payload_parsed = false;
}  // namespace

Result<void, Error> parse_payload(std::string& json) {
  payload_parsed = false;
  const auto object = parse_padded_object(json, ParserUse::Payload);
  if (!object) return fail(object.error());
  payload_object = *object;
  payload_parsed = true;
  return {};
}

Result<std::string_view, Error> payload_string_member(std::string_view name, Error if_absent) {
  if (!payload_parsed) return fail(Error::BadJson);
  std::string_view value;
  if (payload_object[name].get(value)) return fail(if_absent);
  return value;
}

Result<ClaimValue::Object, Error> payload_claims() {
  if (!payload_parsed) return fail(Error::BadJson);
  return to_object(payload_object, 1);
}

}  // namespace claimgate::jwt
