// listeners: the addresses the proxy accepts on, each plain or TLS. The TLS files are loaded here
// once, so that --check-config and a reload report a bad certificate or key with its key and line.
#include <set>

#include "config/reader.h"
#include "tls/server_context.h"

namespace claimgate::config {
namespace {

void read_certificates(Reader& r, const YAML::Node& node, const std::string& key, tls::ServerSettings& out) {
  if (!node.IsSequence() || node.size() == 0) {
    r.error(node, key, "must be a non-empty list of { cert_file: ..., key_file: ... }");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string item_key = key + "[" + std::to_string(i) + "]";
    if (!r.check_map(node[i], item_key, {"cert_file", "key_file"})) continue;
    tls::CertificateFiles files;
    for (const char* name : {"cert_file", "key_file"}) {
      std::string& value = std::string_view(name) == "cert_file" ? files.cert_file : files.key_file;
      if (auto n = node[i][name]) {
        if (r.read_string(n, Reader::join(item_key, name), value) && value.empty())
          r.error(n, Reader::join(item_key, name), "must not be empty");
      } else {
        r.error(node[i], Reader::join(item_key, name), "is required");
      }
    }
    out.certificates.push_back(std::move(files));
  }
}

void read_tls(Reader& r, const YAML::Node& node, const std::string& key, tls::ServerSettings& out) {
  if (!r.check_map(node, key, {"certificates", "min_version", "client_ca_file", "verify_client"})) return;
  const std::size_t errors_before = r.errors.size();
  if (auto n = node["certificates"]) {
    read_certificates(r, n, key + ".certificates", out);
  } else {
    r.error(node, key + ".certificates", "is required");
  }
  if (auto n = node["min_version"]) {
    std::string version;
    if (r.read_string(n, key + ".min_version", version)) {
      if (version == "1.2") {
        out.min_version = 12;
      } else if (version == "1.3") {
        out.min_version = 13;
      } else {
        r.error(n, key + ".min_version", "must be \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are not offered), got \"" + version + "\"");
      }
    }
  }
  if (auto n = node["client_ca_file"]) r.read_string(n, key + ".client_ca_file", out.client_ca_file);
  if (auto n = node["verify_client"]) {
    std::string mode;
    if (r.read_string(n, key + ".verify_client", mode)) {
      if (mode == "required") {
        out.verify_client = tls::ClientVerify::Required;
      } else if (mode == "optional") {
        out.verify_client = tls::ClientVerify::Optional;
      } else {
        r.error(n, key + ".verify_client", "must be required or optional, got \"" + mode + "\"");
      }
      if (out.client_ca_file.empty()) r.error(n, key + ".verify_client", "needs client_ca_file");
    }
  }
  if (r.errors.size() != errors_before) return;
  auto context = tls::ServerContext::build(out, tls::random_ticket_keys());
  if (!context) r.error(node, key, context.error());
}

}  // namespace

void read_listeners(Reader& r, const YAML::Node& root, proxy::Settings& s) {
  const YAML::Node listen = root["listen"];
  const YAML::Node listeners = root["listeners"];
  if (listen) r.read_endpoint(listen, "listen", s.listen);
  if (!listeners) {
    s.listeners = {proxy::Listener{s.listen, std::nullopt}};
    return;
  }
  if (listen) r.error(listeners, "listeners", "cannot be used together with listen (put that address in listeners)");
  if (!listeners.IsSequence() || listeners.size() == 0) {
    r.error(listeners, "listeners", "must be a non-empty list of { address: IP:PORT, tls: ... }");
    return;
  }
  std::set<std::pair<std::string, std::uint16_t>> addresses;
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const std::string key = "listeners[" + std::to_string(i) + "]";
    const YAML::Node node = listeners[i];
    if (!r.check_map(node, key, {"address", "tls"})) continue;
    proxy::Listener l;
    if (auto n = node["address"]) {
      if (r.read_endpoint(n, key + ".address", l.address) && !addresses.emplace(l.address.host, l.address.port).second)
        r.error(n, key + ".address", "is already used by another listener");
    } else {
      r.error(node, key + ".address", "is required");
    }
    if (auto n = node["tls"]) read_tls(r, n, key + ".tls", l.tls.emplace());
    s.listeners.push_back(std::move(l));
  }
  if (!s.listeners.empty()) s.listen = s.listeners.front().address;
}

}  // namespace claimgate::config
