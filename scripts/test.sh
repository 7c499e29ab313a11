#!/usr/bin/env bash
# The whole test suite, as the README promises: formatting, lints, and every test of the
# workspace (unit, snapshot, property and end-to-end tests against the real Docker Engine).
# Prepares what the end-to-end tests need first: swarm mode and the locally built images.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The TLS end-to-end tests start Let's Encrypt's test CA (Debian's `pebble`) and make their
# certificates with the openssl CLI (the remote-engine test also runs a small TLS endpoint with
# the machine's python3). Installed only when missing.
missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "warning: ${missing[*]} missing and not root; the TLS end-to-end tests will fail" >&2
  fi
fi

if docker info >/dev/null 2>&1; then
  step "swarm mode and local images"
  ./scripts/swarm-init.sh
  ./scripts/prepare-images.sh
else
  echo "warning: the Docker Engine is not reachable; end-to-end tests will fail" >&2
fi

step "tests"
cargo test --workspace --locked
