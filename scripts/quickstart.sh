#!/usr/bin/env bash
# berth's main job, end to end, on a fresh machine of this kind: builds berth, prepares the local
# images (nothing can be pulled here), initialises swarm mode when it is inactive, checks the
# examples, then plans and applies examples/quickstart and shows a request through Traefik.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "building berth"
cargo build --release --locked --bin berth
BERTH=./target/release/berth

step "swarm mode and local images"
./scripts/swarm-init.sh
./scripts/prepare-images.sh

step "validating and format-checking the examples"
"$BERTH" validate examples/quickstart
"$BERTH" validate examples/tenants --var pr=1
"$BERTH" fmt --check examples/quickstart
"$BERTH" fmt --check examples/tenants

step "the plan for examples/quickstart"
"$BERTH" plan examples/quickstart

step "applying it"
"$BERTH" apply --auto-approve examples/quickstart

step "a request through Traefik to hello.localhost"
for _ in $(seq 1 60); do
  if curl -fsS -m 2 -H 'Host: hello.localhost' http://127.0.0.1/; then
    ok=1
    break
  fi
  sleep 0.5
done
[ "${ok:-}" = 1 ] || { echo "the quickstart's route did not answer" >&2; exit 1; }

step "status"
"$BERTH" status examples/quickstart

cat <<'DONE'

The quickstart runs. Try:
  ./target/release/berth plan examples/quickstart          # no changes
  docker service scale hello_web=3 && ./target/release/berth drift examples/quickstart   # drift, exit 2
  ./target/release/berth destroy --project hello --env production --auto-approve examples/quickstart
  ./target/release/berth destroy --platform --auto-approve examples/quickstart    # the proxy
DONE
