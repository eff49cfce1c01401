#include "jwt/json_object.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace claimgate::jwt {
namespace {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING);
constexpr std::size_t kInitialCapacity = 16 * 1024;

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser = [] {
    simdjson::dom::parser p;
    // simdjson's own limit sits above ours so that ours decides the boundary; it only guards
    // documents deep enough to matter to its fixed-size stacks.
    // A failed allocation shows up again as a parse error.
    [[maybe_unused]] const auto error = p.allocate(kInitialCapacity, kMaxJsonDepth + 2);
    return p;
  }();
  return parser;
}

Result<simdjson::dom::element, Error> parse_padded(std::string& json) {
  const std::size_t size = json.size();
  json.append(kJsonPadding, '\0');
  simdjson::dom::element root;
  const auto error = thread_parser().parse(json.data(), size, false).get(root);
  json.resize(size);
  if (error == simdjson::DEPTH_ERROR) return fail(Error::JsonTooDeep);
  if (error) return fail(Error::BadJson);
  return root;
}

Result<ClaimValue, Error> to_claim_value(simdjson::dom::element element, std::size_t depth);

Result<ClaimValue::Object, Error> to_object(simdjson::dom::object object, std::size_t depth) {
  if (depth > kMaxJsonDepth) return fail(Error::JsonTooDeep);
  ClaimValue::Object members;
  members.reserve(object.size());
  for (const auto field : object) {
    auto value = to_claim_value(field.value, depth);
    if (!value) return fail(value.error());
    members.emplace_back(std::string(field.key), std::move(*value));
  }
  std::vector<std::string_view> names;
  names.reserve(members.size());
  for (const auto& member : members) names.emplace_back(member.first);
  if (has_duplicate_names(names)) return fail(Error::DuplicateMember);
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
  auto root = parse_padded(json);
  if (!root) return fail(root.error());
  simdjson::dom::object object;
  if (root->get(object)) return fail(Error::BadJson);
  return to_object(object, 1);
}

Result<std::string, Error> peek_string_member(std::string& json, std::string_view name, Error if_absent) {
  auto root = parse_padded(json);
  if (!root) return fail(root.error());
  simdjson::dom::object object;
  if (root->get(object)) return fail(Error::BadJson);
  std::string_view value;
  if (object[name].get(value)) return fail(if_absent);
  return std::string(value);
}

}  // namespace claimgate::jwt
