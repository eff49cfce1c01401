#pragma once
// doctest printers, so that failures name the enum values.
#include <doctest/doctest.h>

#include <string>

#include "policy/path_normalizer.h"
#include "policy/requirement.h"

namespace doctest {
template <>
struct StringMaker<claimgate::policy::Decision> {
  static String convert(claimgate::policy::Decision d) { return std::string(to_string(d)).c_str(); }
};
template <>
struct StringMaker<claimgate::policy::PathError> {
  static String convert(claimgate::policy::PathError e) { return std::string(to_string(e)).c_str(); }
};
}  // namespace doctest

// doctest 2.4.9 prints enums as integers without asking StringMaker; these overloads, found by
// argument-dependent lookup, win over that template.
namespace claimgate::policy {
inline doctest::String toString(Decision d) { return doctest::StringMaker<Decision>::convert(d); }
inline doctest::String toString(PathError e) { return doctest::StringMaker<PathError>::convert(e); }
}  // namespace claimgate::policy
