#pragma once
// Structured JSON lines on stderr. There is deliberately no overload that takes a header map:
// callers log names, routes and error names, never tokens, cookies or Authorization values.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace claimgate::log {

enum class Level { Debug, Info, Warn, Error };

std::string_view to_string(Level level);
// Accepts "debug", "info", "warn", "error".
bool parse_level(std::string_view text, Level& out);

void set_level(Level level);
bool enabled(Level level);

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;

  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}

  std::string_view key;
  Value value;
};

void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Info, event, fields);
}
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Warn, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Error, event, fields);
}

// Appends `text` to `out` as the inside of a JSON string (no surrounding quotes).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace claimgate::log
