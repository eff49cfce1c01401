#include "core/claims.h"

#include <charconv>
#include <cmath>

#include "core/log.h"

#include <charconv>

namespace claimgate {

const ClaimValue* ClaimValue::member(std::string_view name) const {
  if (!is_object()) return nullptr;
  for (const auto& [key, value] : as_object()) {
    if (key == name) return &value;
  }
  return nullptr;
}

bool ClaimValue::scalar_text(std::string& out) const {
  if (is_string()) {
    out = as_string();
    return true;
  }
  if (is_integer()) {
    out = std::to_string(as_integer());
    return true;
  }
  if (is_bool()) {
    out = as_bool() ? "true" : "false";
    return true;
  }
  return false;
}

namespace {
const ClaimValue* find_in(const ClaimValue& node, std::string_view path) {
  if (path.empty() || !node.is_object()) return nullptr;
  const ClaimValue* best = nullptr;
  std::size_t best_len = 0;
  std::string_view best_rest;
  for (const auto& [key, value] : node.as_object()) {
    if (key.size() < best_len || !path.starts_with(key)) continue;
    if (key.size() == path.size()) return &value;  // the whole rest names this member
    if (path[key.size()] == '.') {
      best = &value;
      best_len = key.size();
      best_rest = path.substr(key.size() + 1);
    }
  }
  return best ? find_in(*best, best_rest) : nullptr;
}
}  // namespace

const ClaimValue* Claims::find(std::string_view dotted_path) const { return find_in(root_, dotted_path); }

const std::string* Claims::string_at(std::string_view dotted_path) const {
  const ClaimValue* v = find(dotted_path);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

std::vector<std::string> Claims::strings_at(std::string_view dotted_path) const {
  std::vector<std::string> out;
  const ClaimValue* v = find(dotted_path);
  if (!v) return out;
  if (v->is_array()) {
    for (const ClaimValue& item : v->as_array()) {
      if (item.is_string()) out.push_back(item.as_string());
    }
  } else if (v->is_string()) {
    std::string_view s = v->as_string();
    while (!s.empty()) {
      const auto start = s.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      s.remove_prefix(start);
      const auto end = s.find(' ');
      out.emplace_back(s.substr(0, end));
      if (end == std::string_view::npos) break;
      s.remove_prefix(end);
    }
  }
  return out;
}

namespace {
void append_json(std::string& out, const ClaimValue& v) {
  if (v.is_null()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_integer()) {
    out += std::to_string(v.as_integer());
  } else if (v.is_double()) {
    const double d = v.as_number();
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    out.append(buf, r.ptr);
  } else if (v.is_string()) {
    out += '"';
    log::append_json_escaped(out, v.as_string());
    out += '"';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const ClaimValue& item : v.as_array()) {
      if (!first) out += ',';
      first = false;
      append_json(out, item);
    }
    out += ']';
  } else {
    out += '{';
    bool first = true;
    for (const auto& [name, item] : v.as_object()) {
      if (!first) out += ',';
      first = false;
      out += '"';
      log::append_json_escaped(out, name);
      out += "\":";
      append_json(out, item);
    }
    out += '}';
  }
}
}  // namespace

std::string to_json(const ClaimValue& value) {
  std::string out;
  append_json(out, value);
  return out;
}

}  // namespace claimgate
