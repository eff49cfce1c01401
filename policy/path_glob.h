#pragma once
// Glob over whole path segments: "*" is exactly one non-empty segment, "**" any number of
// segments (zero included), anything else is literal. At most one "**", so matching is linear.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace claimgate::policy {

class PathGlob {
 public:
  // The error says what is wrong with the pattern.
  static Result<PathGlob, std::string> parse(std::string_view pattern);

  // On a match, and when `captures` is not null, appends what each wildcard matched, in order
  // ("**" without its surrounding slashes; "" when it matched no segment).
  bool match(std::string_view path, std::vector<std::string>* captures = nullptr) const;

  std::size_t wildcard_count() const { return wildcards_; }
  // The literal segments before the first wildcard, which every matching path starts with.
  std::vector<std::string_view> leading_literals() const;

 private:
  enum class Kind { Literal, Star, DoubleStar };
  struct Segment {
    Kind kind;
    std::string text;
  };

  bool match_segment(const Segment& segment, std::string_view text, std::vector<std::string>* captures) const;

  std::vector<Segment> segments_;
  std::size_t double_star_ = std::string_view::npos;  // index into segments_
  std::size_t wildcards_ = 0;
};

}  // namespace claimgate::policy
