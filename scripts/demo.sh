#!/usr/bin/env bash
# Fresh machine to running demo: install what is missing, build, run `claimgate demo` (Ctrl-C stops).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/claimgate demo "$@"
