#!/usr/bin/env bash
# Installs the Debian 12 packages claimgate needs to build and test, skipping what is present.
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail
packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libssl-dev libsodium-dev libsimdjson-dev libyaml-cpp-dev prometheus-cpp-dev
  doctest-dev libre2-dev libbenchmark-dev
  python3 python3-jwt python3-jwcrypto python3-cryptography python3-yaml python3-websockets ca-certificates curl nginx
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev golang-gopkg-yaml.v3-dev
  "$@"
)
# The deploy tests validate manifests with npm's kubernetes-models. Debian's npm conflicts with an
# already installed NodeSource nodejs, so add them only when no npm is present.
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
