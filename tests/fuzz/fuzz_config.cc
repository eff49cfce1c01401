// config::load_config_text: YAML, validation, and the route table compile it runs.
#include "config/config.h"
#include "fuzz_input.h"

using namespace claimgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return -1;  // configs are small; keep the fuzzer on structure
  const std::string text(fuzz::as_view(data, size));
  auto config = config::load_config_text(text);
  if (!config) {
    if (config.error().empty()) std::abort();  // a failure always says why
    (void)config::format_errors("fuzz.yaml", config.error());
  }
  return 0;
}
