#include "tools/mint.h"

#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "jwt/json_object.h"
#include "tools/token_signer.h"

namespace claimgate::tools {

namespace {

constexpr std::string_view kUsage =
    "usage: claimgate mint --key DIR/private.jwk --iss ISS [--sub S] [--aud A ...] [--ttl-s N]\n"
    "                      [--claim name=value ...] [--claim-json name=JSON ...] [--scope \"a b\"]\n"
    "                      [--roles r1,r2]\n"
    "Prints a compact JWS signed with a key written by `claimgate keygen`.\n";

// Replaces the member in place, or appends it.
void set_member(ClaimValue::Object& object, std::string name, ClaimValue value) {
  for (auto& [n, v] : object) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  object.emplace_back(std::move(name), std::move(value));
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto at = text.find(separator);
    const std::string_view item = text.substr(0, at);
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

ClaimValue string_array(const std::vector<std::string>& items) {
  ClaimValue::Array out;
  for (const auto& item : items) out.emplace_back(item);
  return ClaimValue(std::move(out));
}

// "name=rest" -> {name, rest}; the name must not be empty.
Result<std::pair<std::string, std::string_view>, std::string> split_assignment(std::string_view option,
                                                                               std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return fail(std::string(option) + " needs name=value, got \"" + std::string(text) + "\"");
  }
  return std::pair<std::string, std::string_view>{std::string(text.substr(0, eq)), text.substr(eq + 1)};
}

// Any JSON value, parsed by the verifier's own parser (so a claim the gateway would refuse, with
// repeated member names for instance, is refused here too).
Result<ClaimValue, std::string> parse_json_value(std::string_view json) {
  std::string wrapped = "{\"v\":" + std::string(json) + "\n}";
  wrapped.reserve(wrapped.size() + jwt::kJsonPadding);
  auto parsed = jwt::parse_json_object(wrapped);
  if (!parsed || parsed->size() != 1 || parsed->front().first != "v") {
    return fail("not one JSON value: " + std::string(json));
  }
  return std::move(parsed->front().second);
}

}  // namespace

Result<MintOptions, std::string> parse_mint_args(const std::vector<std::string_view>& args) {
  MintOptions options;
  bool has_issuer = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view option = args[i];
    if (i + 1 >= args.size()) return fail("missing value after " + std::string(option));
    const std::string_view value = args[++i];
    if (option == "--key") {
      options.key_path = value;
    } else if (option == "--iss") {
      options.issuer = value;
      has_issuer = true;
    } else if (option == "--sub") {
      options.subject = std::string(value);
    } else if (option == "--aud") {
      options.audiences.emplace_back(value);
    } else if (option == "--ttl-s") {
      std::int64_t ttl = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), ttl);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        return fail("--ttl-s needs an integer, got \"" + std::string(value) + "\"");
      }
      options.ttl_s = ttl;
    } else if (option == "--scope") {
      options.scopes = split_list(value, ' ');
    } else if (option == "--roles") {
      options.roles = split_list(value, ',');
    } else if (option == "--claim") {
      auto assignment = split_assignment(option, value);
      if (!assignment) return fail(assignment.error());
      set_member(options.extra, std::move(assignment->first), ClaimValue(assignment->second));
    } else if (option == "--claim-json") {
      auto assignment = split_assignment(option, value);
      if (!assignment) return fail(assignment.error());
      auto json = parse_json_value(assignment->second);
      if (!json) return fail("--claim-json " + assignment->first + ": " + json.error());
      set_member(options.extra, std::move(assignment->first), std::move(*json));
    } else {
      return fail("unknown option " + std::string(option));
    }
  }
  if (options.key_path.empty()) return fail(std::string("--key is required"));
  if (!has_issuer) return fail(std::string("--iss is required"));
  return options;
}

ClaimValue::Object mint_claims(const MintOptions& options, std::int64_t now_unix_s) {
  ClaimValue::Object claims;
  claims.emplace_back("iss", options.issuer);
  if (options.subject) claims.emplace_back("sub", *options.subject);
  if (options.audiences.size() == 1) {
    claims.emplace_back("aud", options.audiences.front());
  } else if (!options.audiences.empty()) {
    claims.emplace_back("aud", string_array(options.audiences));
  }
  claims.emplace_back("iat", now_unix_s);
  claims.emplace_back("exp", now_unix_s + options.ttl_s);
  if (options.roles) claims.emplace_back("roles", string_array(*options.roles));
  if (options.scopes) claims.emplace_back("scopes", string_array(*options.scopes));
  for (const auto& [name, value] : options.extra) set_member(claims, name, value);
  return claims;
}

int run_mint(const std::vector<std::string_view>& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  auto options = parse_mint_args(args);
  if (!options) {
    std::cerr << "claimgate mint: " << options.error() << '\n' << kUsage;
    return 2;
  }
  std::ifstream in(options->key_path, std::ios::binary);
  if (!in) {
    std::cerr << "claimgate mint: cannot read " << options->key_path << '\n';
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto signer = TokenSigner::from_private_jwk(text.str());
  if (!signer) {
    std::cerr << "claimgate mint: " << options->key_path << ": " << signer.error() << '\n';
    return 1;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto token = signer->sign(mint_claims(*options, now));
  if (!token) {
    std::cerr << "claimgate mint: " << token.error() << '\n';
    return 1;
  }
  std::cout << *token << '\n';
  return 0;
}

}  // namespace claimgate::tools
