#pragma once
// The immutable snapshot a request runs against; shared by every worker behind shared_ptr<const>.
#include <memory>

#include "auth/authenticator.h"
#include "policy/path_normalizer.h"
#include "policy/route_table.h"
#include "proxy/settings.h"
#include "tls/server_context.h"

namespace claimgate::proxy {

struct RuntimeConfig {
  Settings settings;
  policy::RouteTable routes;
  policy::PathOptions path_options;
  std::shared_ptr<const auth::Authenticator> authenticator;  // never null; without providers it only strips
  // Per entry of settings.listeners: the TLS listener's certificates (kept across reloads), or null.
  std::vector<std::shared_ptr<tls::ListenerTls>> listener_tls;
};

using RuntimeConfigPtr = std::shared_ptr<const RuntimeConfig>;

}  // namespace claimgate::proxy
