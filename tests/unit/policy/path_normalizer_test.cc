#include <doctest/doctest.h>

#include "policy/path_normalizer.h"
#include "printers.h"

using namespace claimgate::policy;

namespace {
// "!name" is the expected error's name; anything else the expected path.
std::string normalized(std::string_view raw, const PathOptions& options = {}) {
  const auto r = normalize_path(raw, options);
  return r ? *r : "!" + std::string(to_string(r.error()));
}
}  // namespace

TEST_CASE("legitimate paths pass unchanged") {
  for (const char* path : {"/", "/admin", "/admin/", "/admin/x", "/a-b_c.d~e/F09", "/posts/42/comments",
                           "/v1/users:batchGet", "/a@b/c=d&e+f,g!h$i'j(k)l*m", "/file.tar.gz", "/.well-known/jwks.json",
                           "/a%20b", "/%C3%A9t%C3%A9", "/a%25b", "/..foo/...", "/a/.b"}) {
    CAPTURE(path);
    CHECK(normalized(path) == path);
  }
}

TEST_CASE("normalisation after Istio's table") {
  struct Case {
    const char* raw;
    const char* expected;
  };
  const Case cases[] = {
      // Traversal, encoded dots, encoded letters and doubled slashes all land on the admin path, where the admin route sees them.
      {"/public/../admin/x", "/admin/x"},
      {"/public/%2e%2e/admin/x", "/admin/x"},
      {"/public/%2E%2E/admin/x", "/admin/x"},
      {"/public/.%2e/admin/x", "/admin/x"},
      {"/%61dmin/x", "/admin/x"},
      {"//admin/x", "/admin/x"},
      {"/admin//x", "/admin/x"},
      {"///admin///x///", "/admin/x/"},
      {"/./admin/./x", "/admin/x"},
      {"/%2e/admin", "/admin"},
      // Unreserved escapes decode; the others stay, with upper-case hex.
      {"/%41%5a%61%7a%30%39%2D%2E%5F%7E", "/AZaz09-._~"},
      {"/a%2fb", "!encoded_slash"},
      {"/a%3fb%3Bc%20d%e9", "/a%3Fb%3Bc%20d%E9"},
      {"/%252e%252e/admin", "/%252e%252e/admin"},  // decoded once only
      // RFC 3986 §5.2.4 examples, and climbing above the root clamps there.
      {"/a/b/c/./../../g", "/a/g"},
      {"/mid/content=5/../6", "/mid/6"},
      {"/..", "/"},
      {"/../../admin", "/admin"},
      {"/a/..", "/"},
      {"/a/b/..", "/a/"},
      {"/a/.", "/a/"},
      {"/a/%2e", "/a/"},
      {"/.", "/"},
      {"//", "/"},
      // Rejections.
      {"", "!not_absolute"},
      {"admin", "!not_absolute"},
      {"*", "!not_absolute"},
      {"/a%00b", "!encoded_nul"},
      {"/a%2Fb", "!encoded_slash"},
      {"/a%5cb", "!backslash"},
      {"/a%5Cb", "!backslash"},
      {"/a\\b", "!backslash"},
      {"/..\\admin", "!backslash"},
      {"/admin;x/y", "!path_parameter"},
      {"/public/..;/admin", "!path_parameter"},
      {"/a%zz", "!malformed_escape"},
      {"/a%4", "!malformed_escape"},
      {"/a%", "!malformed_escape"},
      {"/a%g0", "!malformed_escape"},
      {"/a b", "!invalid_character"},
      {"/a\tb", "!invalid_character"},
      {"/a?b=1", "!invalid_character"},
      {"/a#b", "!invalid_character"},
      {"/caf\xC3\xA9", "!invalid_character"},
      {"/a\x7F", "!invalid_character"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.raw);
    CHECK(normalized(c.raw) == c.expected);
  }
  CHECK(normalized(std::string_view("/a\0b", 4)) == "!invalid_character");
}

TEST_CASE("options keep what they allow, still normalised") {
  CHECK(normalized("/a%2fb/../c", {.allow_encoded_slash = true}) == "/c");
  CHECK(normalized("/a/%2f/b", {.allow_encoded_slash = true}) == "/a/%2F/b");
  CHECK(normalized("/a%5cb", {.allow_backslash = true}) == "/a%5Cb");
  CHECK(normalized("/a\\b", {.allow_backslash = true}) == "/a\\b");
  CHECK(normalized("/a%2fb", {.allow_backslash = true}) == "!encoded_slash");
  CHECK(normalized("/admin;x/y", {.allow_path_parameters = true}) == "/admin;x/y");
  CHECK(normalized("/a;v=1/../b", {.allow_path_parameters = true}) == "/b");
  // Servlet containers read "..;" as "..", so even allowed parameters never ride on a dot segment.
  CHECK(normalized("/public/..;/admin", {.allow_path_parameters = true}) == "!path_parameter");
  CHECK(normalized("/public/.;x/admin", {.allow_path_parameters = true}) == "!path_parameter");
  CHECK(normalized("/a%00", {true, true, true}) == "!encoded_nul");
}

TEST_CASE("path errors have names and descriptions") {
  for (PathError e : {PathError::NotAbsolute, PathError::InvalidCharacter, PathError::MalformedEscape,
                      PathError::EncodedNul, PathError::EncodedSlash, PathError::Backslash, PathError::PathParameter}) {
    CHECK(to_string(e) != "unknown");
    CHECK(describe(e) != "unknown path error");
  }
  CHECK(to_string(PathError::EncodedSlash) == "encoded_slash");
}
