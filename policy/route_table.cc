#include "policy/route_table.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "core/ascii.h"
#include "policy/path_glob.h"
#include "policy/path_normalizer.h"

namespace claimgate::policy {

std::string_view to_string(AuthMode mode) {
  switch (mode) {
    case AuthMode::Required: return "required";
    case AuthMode::Optional: return "optional";
    case AuthMode::Anonymous: return "anonymous";
  }
  return "required";
}

std::optional<AuthMode> parse_auth_mode(std::string_view text) {
  for (AuthMode m : {AuthMode::Required, AuthMode::Optional, AuthMode::Anonymous}) {
    if (to_string(m) == text) return m;
  }
  return std::nullopt;
}

namespace {


// The host without port or trailing dot, case untouched.
std::string_view host_name(std::string_view host) {
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    host = close == std::string_view::npos ? host : host.substr(0, close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  return host;
}

// "/a/b" -> {"a", "b"}, "/" -> {""}, "" -> {}.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The literal text every full match of `pattern` starts with; conservative: it stops at the
// first metacharacter, drops a quantified last character and gives up on any alternation.
std::string regex_literal_prefix(std::string_view pattern) {
  if (pattern.find('|') != std::string_view::npos) return {};
  if (pattern.starts_with('^')) pattern.remove_prefix(1);
  const auto end = pattern.find_first_of("\\.+*?()[]{}^$");
  std::string literal(pattern.substr(0, end));
  if (end != std::string_view::npos && !literal.empty() && std::string_view("+*?{").find(pattern[end]) != std::string_view::npos)
    literal.pop_back();
  return literal;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct PathMatcher {
  enum class Kind { Exact, Prefix, Glob, Regex };
  Kind kind = Kind::Exact;
  std::string text;  // Exact and Prefix: the path; Regex: the literal prefix of every match
  std::optional<PathGlob> glob;
  std::unique_ptr<const RE2> regex;
  std::size_t captures = 0;                 // wildcards or groups
  std::vector<std::string> anchor;  // the leading segments every matching path has

  bool matches(std::string_view path) const {
    switch (kind) {
      case Kind::Exact: return text == path;
      case Kind::Prefix: return matches_path_prefix(text, path);
      case Kind::Glob: return glob->match(path);
      case Kind::Regex: return path.starts_with(text) && RE2::FullMatch(re2::StringPiece(path.data(), path.size()), *regex);
    }
    return false;
  }

  std::vector<std::string> captures_of(std::string_view path) const {
    std::vector<std::string> out;
    if (kind == Kind::Glob) {
      out.reserve(captures + 1);
      out.emplace_back(path);
      glob->match(path, &out);
    } else if (kind == Kind::Regex) {
      std::vector<re2::StringPiece> groups(captures + 1);
      regex->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(), RE2::ANCHOR_BOTH, groups.data(),
                   static_cast<int>(groups.size()));
      out.reserve(groups.size());
      for (const re2::StringPiece& g : groups) out.emplace_back(g.data() ? std::string(g.data(), g.size()) : std::string());
    }
    return out;
  }
};

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string describe_path_miss(const PathMatcher& matcher, const RouteMatch& match, std::string_view path) {
  const std::string subject = "path " + quoted(path);
  switch (matcher.kind) {
    case PathMatcher::Kind::Exact: return subject + " is not " + quoted(matcher.text);
    case PathMatcher::Kind::Prefix: return subject + " is not under prefix " + quoted(matcher.text);
    case PathMatcher::Kind::Glob: return subject + " does not match glob " + quoted(*match.path_glob);
    case PathMatcher::Kind::Regex: return subject + " does not match regex " + quoted(*match.path_regex);
  }
  return subject + " does not match";
}

std::string describe_method_miss(std::string_view method, const std::vector<std::string>& methods) {
  std::string out = "method " + quoted(method) + " is not in [";
  for (std::size_t i = 0; i < methods.size(); ++i) out += (i ? ", " : "") + methods[i];
  return out + "]";
}

// A literal path routes can only match if it is what normalize_path() produces.
std::optional<std::string> check_normalised(std::string_view kind, const std::string& path) {
  constexpr PathOptions kAllowAll{true, true, true};
  const auto normalised = normalize_path(path, kAllowAll);
  if (!normalised) return std::string(kind) + ": \"" + path + "\": " + std::string(describe(normalised.error()));
  if (*normalised != path)
    return std::string(kind) + ": \"" + path + "\" is not in normalised form; requests arrive as \"" + *normalised + "\"";
  return std::nullopt;
}

Result<PathMatcher, std::string> compile_path(const RouteMatch& match) {
  const int count = match.path.has_value() + match.path_prefix.has_value() + match.path_glob.has_value() +
                    match.path_regex.has_value();
  if (count != 1) return fail(std::string("needs exactly one of path, path_prefix, path_glob, path_regex"));
  PathMatcher m;
  if (match.path || match.path_prefix) {
    m.kind = match.path ? PathMatcher::Kind::Exact : PathMatcher::Kind::Prefix;
    m.text = match.path ? *match.path : *match.path_prefix;
    if (auto problem = check_normalised(match.path ? "path" : "path_prefix", m.text)) return fail(std::move(*problem));
    const std::string_view& path = match.path ? *match.path : *match.path_prefix;
    // "/admin/" and "/admin" both cover "/admin" itself.
    const auto anchor = split_segments(match.path ? path : path.substr(0, path.find_last_not_of('/') + 1));
    m.anchor.assign(anchor.begin(), anchor.end());
  } else if (match.path_glob) {
    m.kind = PathMatcher::Kind::Glob;
    auto glob = PathGlob::parse(*match.path_glob);
    if (!glob) return fail("path_glob: \"" + *match.path_glob + "\": " + glob.error());
    if (auto problem = check_normalised("path_glob", *match.path_glob)) return fail(std::move(*problem));
    m.captures = glob->wildcard_count();
    const auto anchor = glob->leading_literals();
    m.anchor.assign(anchor.begin(), anchor.end());
    m.glob = std::move(*glob);
  } else {
    m.kind = PathMatcher::Kind::Regex;
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_unique<const RE2>(*match.path_regex, options);
    if (!regex->ok()) return fail("path_regex: \"" + *match.path_regex + "\": " + regex->error());
    m.captures = static_cast<std::size_t>(regex->NumberOfCapturingGroups());
    m.regex = std::move(regex);
    m.text = regex_literal_prefix(*match.path_regex);
    // Only segments the literal closes with a '/' are known whole.
    const auto anchor = split_segments(std::string_view(m.text).substr(0, m.text.rfind('/')));
    m.anchor.assign(anchor.begin(), anchor.end());
  }
  return m;
}

}  // namespace

std::string normalize_host(std::string_view host) {
  return ascii::to_lower(host_name(host));
}

bool matches_path_prefix(std::string_view prefix, std::string_view path) {
  if (!path.starts_with(prefix)) {
    // "/admin/" also covers the bare directory "/admin".
    return prefix.size() > 1 && prefix.ends_with('/') && path == prefix.substr(0, prefix.size() - 1);
  }
  return path.size() == prefix.size() || prefix.ends_with('/') || path[prefix.size()] == '/';
}

// A trie over leading path segments. Each route hangs at the node of its anchor; a node's
// candidates are its own routes and its ancestors', in table order. A request walks down by its
// segments as far as the trie goes and tries only that node's candidates: every route that can
// match it hangs on that walk. First match wins as in a linear scan.
struct RouteTable::Compiled {
  struct Node {
    std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> children;
    std::vector<std::uint32_t> candidates;
  };
  std::vector<RouteSpec> routes;
  std::vector<PathMatcher> matchers;
  std::vector<Node> nodes{1};  // [0] is the root

  void index(std::uint32_t route, const std::vector<std::string>& anchor) {
    std::uint32_t at = 0;
    for (const std::string& segment : anchor) {
      auto child = nodes[at].children.find(segment);
      if (child == nodes[at].children.end()) {
        nodes.emplace_back();
        child = nodes[at].children.emplace(segment, static_cast<std::uint32_t>(nodes.size() - 1)).first;
      }
      at = child->second;
    }
    nodes[at].candidates.push_back(route);
  }

  // Parents come before children in `nodes`, so one forward pass pushes ancestors down.
  void inherit() {
    for (Node& parent : nodes) {
      for (const auto& [segment, child] : parent.children) {
        std::vector<std::uint32_t>& own = nodes[child].candidates;
        std::vector<std::uint32_t> merged;
        merged.reserve(own.size() + parent.candidates.size());
        std::merge(own.begin(), own.end(), parent.candidates.begin(), parent.candidates.end(), std::back_inserter(merged));
        own = std::move(merged);
      }
    }
  }

  // Which condition of route `i` the request fails first (path, then method, then host).
  RouteMiss miss(std::size_t i, std::string_view method, std::string_view request_host, std::string_view path) const {
    const RouteMatch& m = routes[i].match;
    if (!matchers[i].matches(path)) return RouteMiss::Path;
    if (!m.methods.empty() && std::find(m.methods.begin(), m.methods.end(), method) == m.methods.end())
      return RouteMiss::Method;
    if (m.host && !ascii::iequals(*m.host, request_host)) return RouteMiss::Host;
    return RouteMiss::None;
  }

  const std::vector<std::uint32_t>& candidates(std::string_view path) const {
    std::uint32_t at = 0;
    for (std::size_t start = 1; start <= path.size();) {
      const std::size_t end = std::min(path.find('/', start), path.size());
      const auto child = nodes[at].children.find(path.substr(start, end - start));
      if (child == nodes[at].children.end()) break;
      at = child->second;
      start = end + 1;
    }
    return nodes[at].candidates;
  }
};

Result<RouteTable, std::string> RouteTable::compile(std::vector<RouteSpec> routes) {
  auto compiled = std::make_shared<Compiled>();
  compiled->matchers.reserve(routes.size());
  for (RouteSpec& route : routes) {
    const std::string where = "route \"" + route.name + "\": ";
    auto matcher = compile_path(route.match);
    if (!matcher) return fail(where + matcher.error());
    if (const std::size_t wanted = highest_capture(route.require); wanted > matcher->captures) {
      return fail(where + "require.path_claims refers to capture " + std::to_string(wanted) + ", but the route's path has " +
                  std::to_string(matcher->captures) + (matcher->captures == 1 ? " capture" : " captures"));
    }
    if (route.match.host) route.match.host = normalize_host(*route.match.host);
    compiled->matchers.push_back(std::move(*matcher));
  }
  compiled->routes = std::move(routes);
  for (std::uint32_t i = 0; i < compiled->matchers.size(); ++i) compiled->index(i, compiled->matchers[i].anchor);
  compiled->inherit();
  RouteTable table;
  table.compiled_ = std::move(compiled);
  return table;
}

std::optional<RouteMatchResult> RouteTable::match(std::string_view method, std::string_view host,
                                                  std::string_view normalized_path) const {
  if (!compiled_) return std::nullopt;
  const Compiled& c = *compiled_;
  const std::string_view request_host = host_name(host);
  for (const std::uint32_t i : c.candidates(normalized_path)) {
    if (c.miss(i, method, request_host, normalized_path) != RouteMiss::None) continue;
    return RouteMatchResult{&c.routes[i], c.matchers[i].captures_of(normalized_path)};
  }
  return std::nullopt;
}

std::string_view to_string(RouteMiss miss) {
  switch (miss) {
    case RouteMiss::None: return "matched";
    case RouteMiss::Path: return "path";
    case RouteMiss::Method: return "method";
    case RouteMiss::Host: return "host";
  }
  return "matched";
}

std::vector<RouteTrace> RouteTable::explain_match(std::string_view method, std::string_view host,
                                                  std::string_view normalized_path) const {
  std::vector<RouteTrace> out;
  if (!compiled_) return out;
  const Compiled& c = *compiled_;
  const std::string_view request_host = host_name(host);
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    const RouteMatch& m = c.routes[i].match;
    RouteTrace& t = out.emplace_back(RouteTrace{&c.routes[i], i, c.miss(i, method, request_host, normalized_path), {}});
    switch (t.miss) {
      case RouteMiss::Path: t.why_not = describe_path_miss(c.matchers[i], m, normalized_path); break;
      case RouteMiss::Method: t.why_not = describe_method_miss(method, m.methods); break;
      case RouteMiss::Host: t.why_not = "host " + quoted(normalize_host(host)) + " is not " + quoted(*m.host); break;
      case RouteMiss::None: return out;
    }
  }
  return out;
}

const std::vector<RouteSpec>& RouteTable::routes() const {
  static const std::vector<RouteSpec> kNone;
  return compiled_ ? compiled_->routes : kNone;
}

}  // namespace claimgate::policy
