#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz/ (clang 19, ASan + UBSan) and runs each one for
# SECONDS_PER_TARGET (default 15) on a copy of its committed seed corpus.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET ...]
# Targets: jwt jwks config path_route token_sources http_head (default: all).
# Findings (crash-*, leak-*, timeout-*, oom-*) land in build-fuzz/findings/<target>/ and fail the
# run; make each one a regression test (see tests/fuzz/README.md). JOBS sets build parallelism,
# FUZZ_WORK (default build-fuzz/work) holds the growing corpora between runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=${1:-15}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(jwt jwks config path_route token_sources http_head)
jobs=${JOBS:-$(nproc)}
cxx=${FUZZ_CXX:-clang++-19}
cc=${FUZZ_CC:-clang-19}
dir=build-fuzz
work=${FUZZ_WORK:-$root/$dir/work}

start=$(date +%s)
if [ ! -f "$dir/build.ninja" ]; then
  CC=$cc CXX=$cxx cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCLAIMGATE_BUILD_FUZZ=ON -DCLAIMGATE_BUILD_TESTS=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
fi
cmake --build "$dir" -j "$jobs" --target fuzz_all
echo "fuzz: build took $(($(date +%s) - start)) s" >&2

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
printf '%-14s %8s %12s %8s %8s %s\n' target seconds execs cov ft result > "$dir/fuzz-summary.txt"
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$t
  corpus=$work/$t
  findings=$root/$dir/findings/$t
  mkdir -p "$corpus" "$findings"
  log=$root/$dir/fuzz-$t.log
  result=ok
  # -max_total_time bounds the run; -timeout turns a slow input (> 10 s) into a finding (a hang).
  "$dir/fuzz_$t" "$corpus" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$findings/" -close_fd_mask=3 >"$log" 2>&1 || { result=FAILED; status=1; }
  stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1 || true)
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  cov=$(grep -oE 'cov: [0-9]+' <<<"$stats" | grep -oE '[0-9]+' || echo '?')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$stats" | grep -oE '[0-9]+' || echo '?')
  printf '%-14s %8s %12s %8s %8s %s\n' "$t" "$seconds" "$execs" "$cov" "$ft" "$result" | tee -a "$dir/fuzz-summary.txt"
  if [ "$result" != ok ]; then
    echo "fuzz: $t failed; log $log, findings in $findings:" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -20 >&2 || true
  fi
done
echo "fuzz: total $(($(date +%s) - start)) s" >&2
exit $status
