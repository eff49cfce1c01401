#include "jwks/file_loader.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "jwks/jwks.h"

namespace claimgate::jwks {
namespace {

Result<std::string, Error> read_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Error::FileUnreadable);
  std::string contents;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    contents.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (contents.size() > max_bytes) return fail(Error::FileTooLarge);
  }
  if (in.bad()) return fail(Error::FileUnreadable);
  return contents;
}

}  // namespace

Result<jwt::KeySet, Error> load_jwks_file(const std::string& path) {
  auto contents = read_file(path, kMaxJwksFileBytes);
  if (!contents) return fail(contents.error());
  return parse_jwks(*contents, KeySource::LocalFile);
}

Result<jwt::KeySet, Error> load_hmac_secret_file(const std::string& path) {
  auto secret = read_file(path, kMaxSecretFileBytes);
  if (!secret) return fail(secret.error());
  if (secret->ends_with("\r\n")) {
    secret->resize(secret->size() - 2);
  } else if (secret->ends_with('\n')) {
    secret->pop_back();
  }
  auto key = jwt::Key::hmac(std::nullopt, *secret, std::nullopt);
  if (!key) return fail(Error::SecretTooShort);
  std::vector<jwt::Key> keys;
  keys.push_back(std::move(*key));
  return jwt::KeySet(std::move(keys));
}

}  // namespace claimgate::jwks
