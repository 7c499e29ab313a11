#!/usr/bin/env bash
# Makes the local Docker Engine a one-node Swarm manager, which berth's tests and quickstart need;
# a new machine starts with swarm mode inactive. Running it again changes nothing.
#
# The overlay address pool can only be chosen at `swarm init`. 10.208.0.0/12 split into /22s gives
# 1024 networks of about 1000 addresses each, instead of the default /24 per network that runs out
# at about 100 services.
set -euo pipefail

ADVERTISE_ADDR=127.0.0.1
ADDR_POOL=10.208.0.0/12
POOL_MASK_LENGTH=22

log() { printf 'swarm-init: %s\n' "$*"; }

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [[ "$state" == active ]]; then
    pool=$(docker info --format '{{.Swarm.Cluster.DefaultAddrPool}} /{{.Swarm.Cluster.SubnetSize}}' 2>/dev/null || echo unknown)
    log "swarm already active (node $(docker info --format '{{.Swarm.NodeID}}'), address pool $pool); nothing to do"
    exit 0
fi

log "swarm state is '$state'; initialising a single-node swarm"
started=$(date +%s%N)
docker swarm init \
    --advertise-addr "$ADVERTISE_ADDR" \
    --default-addr-pool "$ADDR_POOL" \
    --default-addr-pool-mask-length "$POOL_MASK_LENGTH" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
log "initialised in ${elapsed_ms} ms: node $(docker info --format '{{.Swarm.NodeID}}'), advertising $ADVERTISE_ADDR, address pool $ADDR_POOL split into /$POOL_MASK_LENGTH networks"
