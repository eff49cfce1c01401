#pragma once
// Small helpers shared by the libFuzzer targets: reading fixed files at start-up and splitting
// one fuzz input into fields.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace claimgate::fuzz {

// The whole file, or abort: a target without its fixture would fuzz nothing useful.
inline std::string read_fixture(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s\n", path);
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the text up to the next `sep` (all of it when there is none) off the front of `input`.
inline std::string_view take_field(std::string_view& input, char sep = '\n') {
  auto end = input.find(sep);
  std::string_view field = input.substr(0, end);
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return field;
}

}  // namespace claimgate::fuzz
