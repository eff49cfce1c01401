// claimgate: CLI, signals and wiring only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <cstdio>
#include <future>
#include <optional>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "admin/admin_server.h"
#include "config/config.h"
#include "core/log.h"
#include "metrics/metrics.h"
#include "proxy/server.h"
#include "reload/runtime.h"
#include "tools/demo_upstream.h"
#include "tools/explain.h"
#include "tools/keygen.h"
#include "tools/mint.h"
#include "tools/token_signer.h"

namespace net = boost::asio;
using namespace claimgate;

namespace {

constexpr std::string_view kUsage =
    "usage:\n"
    "  claimgate --config FILE          run the gateway (logs go to stderr)\n"
    "  claimgate --check-config FILE    validate FILE and list every error\n"
    "  claimgate demo [--port N]        run a demo on an embedded config with a built-in upstream\n"
    "  claimgate explain --config FILE --method M --path P [--host H] [--token T | --header 'N: v' |\n"
    "                    --cookie 'n=v'] [--jwks-file F] [--now UNIX_S] [--json]   why a request gets its answer\n"
    "  claimgate keygen [--alg EdDSA|ES256] [--kid ID] --out-dir DIR   make a key pair and its JWKS\n"
    "  claimgate mint --key DIR/private.jwk --iss ISS [--sub S] [--aud A] [--ttl-s N] [--scope \"a b\"]\n"
    "                 [--roles r1,r2] [--claim k=v] [--claim-json k=JSON]   sign a token\n"
    "  claimgate --version\n";

// Runs until SIGINT/SIGTERM, then drains; SIGHUP reloads `config_path` (empty: no reload).
// `control` runs the admin listener, key fetching, signals, and whatever the caller already put
// on it (the demo's upstream).
int run_gateway(net::io_context& control, const config::Config& c, const std::string& config_path,
                const std::string& banner = {}) {
  log::Level level{};
  if (log::parse_level(c.log_level, level)) log::set_level(level);
  std::signal(SIGPIPE, SIG_IGN);

  net::signal_set stop_signals(control, SIGINT, SIGTERM);
  std::promise<int> stop_signal;
  stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (!ec) stop_signal.set_value(signal);
  });

  metrics::Registry metrics(CLAIMGATE_VERSION);
  std::optional<reload::Runtime> runtime;
  std::optional<proxy::Server> server;
  std::optional<admin::AdminServer> admin;
  try {
    runtime.emplace(control, c, config_path, metrics);
    server.emplace(runtime->snapshot(), metrics);
    runtime->start(*server);
    server->start();
    metrics.add_collector([&] { return runtime->collect(); });
    metrics.add_collector([&] {
      auto active = metrics::gauge_family("claimgate_active_connections", "Open client connections.");
      metrics::add_sample(active, {}, static_cast<double>(server->active_connections()));
      return std::vector<prometheus::MetricFamily>{std::move(active)};
    });
    admin.emplace(control, c.proxy.admin,
                  admin::AdminServer::Handlers{[&] { return !server->is_draining() && runtime->is_ready(); },
                                               [&] { return metrics.scrape(); }});
    admin->start();
  } catch (const std::exception& e) {
    log::error("startup_failed", {{"error", e.what()}});
    return 1;
  }
  net::signal_set reload_signal(control, SIGHUP);
  std::function<void()> wait_for_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      runtime->reload();
      wait_for_reload();
    });
  };
  wait_for_reload();
  log::info("started", {{"version", CLAIMGATE_VERSION}, {"admin_port", admin->port()}});
  if (!banner.empty()) std::fputs(banner.c_str(), stdout), std::fflush(stdout);

  std::thread control_thread([&control] { control.run(); });
  const int signal = stop_signal.get_future().get();
  log::info("draining", {{"signal", signal}, {"active_connections", server->active_connections()}});
  const proxy::DrainResult drained = server->drain();
  log::info("stopped", {{"cut_off_connections", drained.cut_off}});
  net::post(control, [&] {
    runtime->stop();
    admin->stop();
    reload_signal.cancel();
    control.stop();
  });
  control_thread.join();
  return 0;
}

int check_config(const std::string& path) {
  auto loaded = config::load_config_file(path);
  if (!loaded) {
    std::cerr << config::format_errors(path, loaded.error());
    std::cerr << loaded.error().size() << " error(s) in " << path << '\n';
    return 1;
  }
  std::cout << path << ": OK (" << loaded->routes.size() << " routes, " << loaded->proxy.upstreams.size()
            << " upstreams)\n";
  return 0;
}

int run_from_file(const std::string& path) {
  auto loaded = config::load_config_file(path);
  if (!loaded) {
    std::cerr << config::format_errors(path, loaded.error());
    return 1;
  }
  net::io_context control;
  return run_gateway(control, *loaded, path);
}

int run_demo(const std::vector<std::string_view>& args) {
  std::uint16_t listen_port = 8080;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port" && i + 1 < args.size()) {
      listen_port = static_cast<std::uint16_t>(std::stoi(std::string(args[++i])));
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  const std::uint16_t admin_port = static_cast<std::uint16_t>(listen_port + 1821);  // 8080 -> 9901

  // A fresh signing key; its public JWKS goes to a private temp dir that the provider watches.
  auto signer = tools::TokenSigner::generate(jwt::Algorithm::EdDSA, "demo-key");
  if (!signer) {
    std::cerr << signer.error() << '\n';
    return 1;
  }
  char dir_template[] = "/tmp/claimgate-demo-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (!dir) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string jwks_path = std::string(dir) + "/jwks.json";
  std::ofstream(jwks_path) << signer->public_jwks();

  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto mint = [&](ClaimValue::Array scopes, std::int64_t exp) {
    auto token = signer->sign({{"iss", std::string(tools::kDemoIssuer)},
                               {"aud", "demo-app"},
                               {"sub", "user:alice123"},
                               {"tenant_id", "org_demo"},
                               {"workspace_id", "ws_engineering"},
                               {"roles", ClaimValue::Array{"editor"}},
                               {"scopes", std::move(scopes)},
                               {"iat", exp - 7200},
                               {"exp", exp}});
    return token ? *token : std::string();
  };
  const tools::DemoTokens tokens{mint({"read:users", "write:posts"}, now + 7200),
                                 mint({"read:users", "write:posts"}, now - 3600), mint({"read:users"}, now + 7200)};

  net::io_context control;
  tools::DemoUpstream upstream(control);
  upstream.start();
  auto loaded = config::load_config_text(tools::demo_config_yaml(listen_port, admin_port, upstream.port(), jwks_path));
  if (!loaded) {
    std::cerr << config::format_errors("<embedded demo config>", loaded.error());
    return 1;
  }
  const int code = run_gateway(control, *loaded, {}, tools::demo_instructions(listen_port, admin_port, tokens));
  std::remove(jwks_path.c_str());
  ::rmdir(dir);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "--version") {
    std::cout << "claimgate " << CLAIMGATE_VERSION << '\n';
    return 0;
  }
  if (args[0] == "--check-config" && args.size() == 2) return check_config(std::string(args[1]));
  if (args[0] == "--config" && args.size() == 2) return run_from_file(std::string(args[1]));
  if (args[0] == "demo") return run_demo({args.begin() + 1, args.end()});
  if (args[0] == "keygen") return tools::run_keygen({args.begin() + 1, args.end()});
  if (args[0] == "explain") return tools::run_explain({args.begin() + 1, args.end()});
  if (args[0] == "mint") return tools::run_mint({args.begin() + 1, args.end()});
  std::cerr << kUsage;
  return 2;
}
