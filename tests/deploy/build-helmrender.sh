#!/usr/bin/env bash
# Builds tests/deploy/helmrender (the offline `helm template` stand-in) into OUT_DIR/helmrender
# from Debian's Go packages: golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev.
# Usage: tests/deploy/build-helmrender.sh OUT_DIR
set -euo pipefail
out=${1:?usage: build-helmrender.sh OUT_DIR}
src=$(cd "$(dirname "$0")/helmrender" && pwd)
mkdir -p "$out"
cd "$src"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$(cd "$out" && pwd)/go-build-cache" GOFLAGS= \
  go build -o "$out/helmrender" .
