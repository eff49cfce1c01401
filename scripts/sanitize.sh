#!/usr/bin/env bash
# The unit and integration suites under sanitizers, each in its own build tree (GCC):
#   scripts/sanitize.sh [ctest args...]         ASan + UBSan into build-asan/, every test
#   scripts/sanitize.sh --tsan [ctest args...]  TSan into build-tsan/, the multi-threaded proxy tests
# Integration tests run the claimgate binary of the same build tree (CLAIMGATE_BINARY is set by
# tests/integration/CMakeLists.txt from $<TARGET_FILE:claimgate>). JOBS sets build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=asan
if [ "${1:-}" = "--tsan" ]; then
  mode=tsan
  shift
fi
jobs=${JOBS:-$(nproc)}

if [ "$mode" = asan ]; then
  dir=build-asan
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  ctest_args=(-L 'unit|integration')  # deploy/ checks inspect the binary's libraries, not its behaviour
  build_targets=(all)
else
  dir=build-tsan
  flags="-fsanitize=thread -fno-omit-frame-pointer"
  # The tests that drive several worker threads at once: proxying, reloads, key refresh and rotation.
  ctest_args=(-R 'integration\.(test_proxy|test_observability|test_keys|test_auth|test_hostile|test_tls)$')
  build_targets=(claimgate)  # the integration tests need only the binary
fi

# Every report is fatal and names its stack. Leak detection is on; suppressions live in
# tests/sanitizers/ and each one names the upstream bug it works around. The quarantine of freed
# memory is kept small (default 256 MiB) so that test_proxy's flat-RSS streaming checks still
# measure the gateway rather than ASan.
export ASAN_OPTIONS="quarantine_size_mb=8:detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/sanitizers/tsan.supp"

start=$(date +%s)
if [ ! -f "$dir/build.ninja" ]; then
  cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags"
fi
cmake --build "$dir" -j "$jobs" --target "${build_targets[@]}"
built=$(date +%s)
echo "sanitize[$mode]: build took $((built - start)) s" >&2

cd "$dir"
status=0
ctest --output-on-failure --timeout 1200 "${ctest_args[@]}" "$@" || status=$?
echo "sanitize[$mode]: tests took $(($(date +%s) - built)) s" >&2
exit $status
