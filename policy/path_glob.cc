#include "policy/path_glob.h"

#include <algorithm>

namespace claimgate::policy {

Result<PathGlob, std::string> PathGlob::parse(std::string_view pattern) {
  if (!pattern.starts_with('/')) return fail(std::string("must start with '/'"));
  PathGlob glob;
  std::size_t start = 1;
  while (true) {
    const std::size_t end = std::min(pattern.find('/', start), pattern.size());
    const std::string_view text = pattern.substr(start, end - start);
    if (text == "**") {
      if (glob.double_star_ != std::string_view::npos) return fail(std::string("may contain \"**\" only once"));
      glob.double_star_ = glob.segments_.size();
      glob.segments_.push_back({Kind::DoubleStar, {}});
      ++glob.wildcards_;
    } else if (text == "*") {
      glob.segments_.push_back({Kind::Star, {}});
      ++glob.wildcards_;
    } else if (text.find('*') != std::string_view::npos) {
      return fail("\"" + std::string(text) + "\": a wildcard must be a whole segment (\"*\" or \"**\")");
    } else {
      glob.segments_.push_back({Kind::Literal, std::string(text)});
    }
    if (end == pattern.size()) break;
    start = end + 1;
  }
  return glob;
}

std::vector<std::string_view> PathGlob::leading_literals() const {
  std::vector<std::string_view> out;
  for (const Segment& segment : segments_) {
    if (segment.kind != Kind::Literal) break;
    out.push_back(segment.text);
  }
  return out;
}

bool PathGlob::match_segment(const Segment& segment, std::string_view text, std::vector<std::string>* captures) const {
  if (segment.kind == Kind::Literal) return segment.text == text;
  if (text.empty()) return false;
  if (captures) captures->emplace_back(text);
  return true;
}

bool PathGlob::match(std::string_view path, std::vector<std::string>* captures) const {
  if (!path.starts_with('/')) return false;
  if (captures && !match(path, nullptr)) return false;  // no partial captures on failure
  const auto count = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
  const bool has_double = double_star_ != std::string_view::npos;
  const std::size_t fixed = segments_.size() - (has_double ? 1 : 0);
  if (has_double ? count < fixed : count != fixed) return false;

  std::size_t pos = 1;  // start of the next path segment
  const auto take_segment = [&] {
    const std::size_t end = std::min(path.find('/', pos), path.size());
    const std::string_view text = path.substr(pos, end - pos);
    pos = end + 1;
    return text;
  };
  for (const Segment& segment : segments_) {
    if (segment.kind != Kind::DoubleStar) {
      if (!match_segment(segment, take_segment(), captures)) return false;
      continue;
    }
    const std::size_t begin = pos;
    for (std::size_t n = count - fixed; n > 0; --n) take_segment();
    if (captures) captures->emplace_back(begin == pos ? std::string_view() : path.substr(begin, pos - 1 - begin));
  }
  return true;
}

}  // namespace claimgate::policy
