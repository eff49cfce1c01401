#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, then
#   1. every libFuzzer target for 15 s (clang-19, ASan + UBSan; tests/fuzz/run.sh)
#   2. the unit and integration tests under ASan + UBSan (scripts/sanitize.sh)
#   3. the multi-threaded integration tests under ThreadSanitizer (scripts/sanitize.sh --tsan)
#   4. the unit, integration and deploy tests on the normal build; ctest's summary is the last line
# `--quick` runs step 4 only (the inner loop). Extra arguments go to the last ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
if ((quick)); then
  scripts/install-deps.sh
else
  scripts/install-deps.sh clang-19 libclang-rt-19-dev llvm-19
  export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-19
fi
scripts/build.sh
if ! ((quick)); then
  bash tests/fuzz/run.sh 15
  bash scripts/sanitize.sh
  bash scripts/sanitize.sh --tsan
fi
cd build
ctest --output-on-failure --timeout 900 "$@"
