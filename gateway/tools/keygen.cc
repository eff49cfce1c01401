#include "tools/keygen.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "jwt/algorithm.h"
#include "tools/token_signer.h"

namespace claimgate::tools {

namespace {

constexpr std::string_view kUsage =
    "usage: claimgate keygen [--alg EdDSA|ES256] [--kid ID] --out-dir DIR [--force]\n"
    "Writes DIR/private.jwk (mode 0600) and DIR/jwks.json (public JWKS), prints their paths.\n";

// Writes `text` to `path` through a temporary file in the same directory, created with `mode`
// (never wider, whatever the umask or an earlier file said), then renamed over `path`.
std::optional<std::string> write_file(const std::string& path, std::string_view text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  bool ok = ::fchmod(fd, mode) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return "cannot write " + path + ": " + reason;
  }
  return std::nullopt;
}

}  // namespace

int run_keygen(const std::vector<std::string_view>& args) {
  jwt::Algorithm alg = jwt::Algorithm::EdDSA;
  std::string kid;
  std::string out_dir;
  bool force = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view option = args[i];
    if (option == "--help" || option == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (option == "--force") {
      force = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "claimgate keygen: missing value after " << option << '\n' << kUsage;
      return 2;
    }
    const std::string_view value = args[++i];
    if (option == "--alg") {
      const auto parsed = jwt::parse_algorithm(value);
      if (!parsed || (*parsed != jwt::Algorithm::EdDSA && *parsed != jwt::Algorithm::ES256)) {
        std::cerr << "claimgate keygen: --alg must be EdDSA or ES256, got \"" << value << "\"\n";
        return 2;
      }
      alg = *parsed;
    } else if (option == "--kid") {
      if (value.empty()) {
        std::cerr << "claimgate keygen: --kid must not be empty\n";
        return 2;
      }
      kid = value;
    } else if (option == "--out-dir") {
      out_dir = value;
    } else {
      std::cerr << "claimgate keygen: unknown option " << option << '\n' << kUsage;
      return 2;
    }
  }
  if (out_dir.empty()) {
    std::cerr << "claimgate keygen: --out-dir is required\n" << kUsage;
    return 2;
  }

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    std::cerr << "claimgate keygen: cannot create " << out_dir << ": " << ec.message() << '\n';
    return 1;
  }
  const std::string private_path = (std::filesystem::path(out_dir) / "private.jwk").string();
  const std::string jwks_path = (std::filesystem::path(out_dir) / "jwks.json").string();
  if (!force && std::filesystem::exists(private_path, ec)) {
    std::cerr << "claimgate keygen: " << private_path << " exists (pass --force to replace it)\n";
    return 1;
  }

  auto signer = TokenSigner::generate(alg, std::move(kid));
  if (!signer) {
    std::cerr << "claimgate keygen: " << signer.error() << '\n';
    return 1;
  }
  if (auto error = write_file(private_path, signer->private_jwk() + "\n", 0600)) {
    std::cerr << "claimgate keygen: " << *error << '\n';
    return 1;
  }
  if (auto error = write_file(jwks_path, signer->public_jwks() + "\n", 0644)) {
    std::cerr << "claimgate keygen: " << *error << '\n';
    return 1;
  }
  std::cout << "private key: " << private_path << "\n"
            << "public JWKS: " << jwks_path << "\n"
            << "alg: " << jwt::to_string(signer->algorithm()) << "\n"
            << "kid: " << signer->kid() << "\n";
  return 0;
}

}  // namespace claimgate::tools
