#pragma once
// The immutable snapshot a request runs against; shared by every worker behind shared_ptr<const>.
#include <memory>

#include "policy/route_table.h"
#include "proxy/settings.h"

namespace claimgate::proxy {

struct RuntimeConfig {
  Settings settings;
  policy::RouteTable routes;
};

using RuntimeConfigPtr = std::shared_ptr<const RuntimeConfig>;

}  // namespace claimgate::proxy
