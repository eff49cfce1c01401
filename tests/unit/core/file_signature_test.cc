#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/file_signature.h"

using claimgate::file_signature;

TEST_CASE("file_signature: missing, then changed by every rewrite, stable otherwise") {
  char dir_template[] = "/tmp/claimgate-signature-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  REQUIRE(dir != nullptr);
  const std::string path = std::string(dir) + "/watched";

  CHECK(file_signature(path) == "missing");

  std::ofstream(path) << "one";
  const std::string first = file_signature(path);
  CHECK(first != "missing");
  CHECK(file_signature(path) == first);

  std::ofstream(path) << "three";  // another size (mtime may not have moved on a coarse clock)
  const std::string second = file_signature(path);
  CHECK(second != first);

  const std::string replacement = std::string(dir) + "/replacement";
  std::ofstream(replacement) << "a longer replacement";
  REQUIRE(std::rename(replacement.c_str(), path.c_str()) == 0);
  CHECK(file_signature(path) != second);

  std::remove(path.c_str());
  CHECK(file_signature(path) == "missing");
  ::rmdir(dir);
}
