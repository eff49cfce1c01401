#pragma once
// The one claims type: produced once per verified token by jwt/, stored by the token cache,
// evaluated by policy/. Policy tests build it literally, without a token.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace claimgate {

class ClaimValue {
 public:
  using Array = std::vector<ClaimValue>;
  // Member order is kept as in the token; names are unique (the parser rejects duplicates).
  using Object = std::vector<std::pair<std::string, ClaimValue>>;

  ClaimValue() : value_(nullptr) {}
  ClaimValue(std::nullptr_t) : value_(nullptr) {}
  ClaimValue(bool v) : value_(v) {}
  ClaimValue(int v) : value_(static_cast<std::int64_t>(v)) {}
  ClaimValue(std::int64_t v) : value_(v) {}
  ClaimValue(double v) : value_(v) {}
  ClaimValue(const char* v) : value_(std::string(v)) {}
  ClaimValue(std::string v) : value_(std::move(v)) {}
  ClaimValue(std::string_view v) : value_(std::string(v)) {}
  ClaimValue(Array v) : value_(std::move(v)) {}
  ClaimValue(Object v) : value_(std::move(v)) {}

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_integer() const { return std::holds_alternative<std::int64_t>(value_); }
  bool is_double() const { return std::holds_alternative<double>(value_); }
  bool is_number() const { return is_integer() || is_double(); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }

  bool as_bool() const { return std::get<bool>(value_); }
  std::int64_t as_integer() const { return std::get<std::int64_t>(value_); }
  double as_number() const { return is_integer() ? static_cast<double>(as_integer()) : std::get<double>(value_); }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  const Array& as_array() const { return std::get<Array>(value_); }
  const Object& as_object() const { return std::get<Object>(value_); }
  Object& as_object() { return std::get<Object>(value_); }

  // Member of an object by exact name; nullptr when absent or not an object.
  const ClaimValue* member(std::string_view name) const;

  // Scalar as text: strings as-is, integers in decimal, booleans as true/false; false otherwise.
  bool scalar_text(std::string& out) const;

  friend bool operator==(const ClaimValue&, const ClaimValue&) = default;

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> value_;
};

class Claims {
 public:
  Claims() : root_(ClaimValue::Object{}) {}
  explicit Claims(ClaimValue::Object members) : root_(std::move(members)) {}
  Claims(std::initializer_list<std::pair<std::string, ClaimValue>> members)
      : root_(ClaimValue::Object(members)) {}

  // Dotted path lookup ("permissions.pma.role"). A member whose own name contains dots is found
  // too: at each level the longest matching name wins (so {"a.b": 1} answers "a.b").
  const ClaimValue* find(std::string_view dotted_path) const;

  // A string claim, or nullptr.
  const std::string* string_at(std::string_view dotted_path) const;

  // An array of strings or one space-separated string (OAuth2 "scope") as a list; other
  // element types are skipped. Empty when absent.
  std::vector<std::string> strings_at(std::string_view dotted_path) const;

  const ClaimValue::Object& members() const { return root_.as_object(); }

 private:
  ClaimValue root_;
};

// Compact JSON text of a claim value: member order kept, strings escaped per RFC 8259, numbers
// in shortest round-trip form (non-finite ones, which JSON cannot express, as null).
std::string to_json(const ClaimValue& value);

}  // namespace claimgate
