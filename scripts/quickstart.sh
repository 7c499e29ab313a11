#!/usr/bin/env bash
# berth's main job, end to end, on a fresh machine: builds berth, then checks and formats the
# examples. (Later stages extend this to planning and applying examples/quickstart.)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "building berth"
cargo build --release --locked --bin berth
BERTH=./target/release/berth

step "validating every example"
for dir in examples/*/; do
  "$BERTH" validate "$dir" --var pr=1
done

step "checking the examples are formatted (berth fmt --check)"
"$BERTH" fmt --check examples/quickstart
"$BERTH" fmt --check examples/tenants

step "a diagnostic, as users see it"
bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
cat >"$bad/shop.berth" <<'BERTH'
project shop {
  service web {
    image   = "berth/demo:1"
    replcas = 2
  }
}
BERTH
"$BERTH" validate "$bad" || true
