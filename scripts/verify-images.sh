#!/usr/bin/env bash
# Checks on the local Swarm that the images from prepare-images.sh work the way berth relies on,
# and prints how long each step took (the numbers in images/README.md come from this script):
#
#   1. berth/demo:1 as a dnsrr service on an attachable overlay network becomes healthy, and a
#      second container on that network gets 200 from it by service name;
#   2. berth/traefik routes Host(`demo.test`) to it through a port published in host mode;
#   3. a service created while Traefik runs is routable shortly after;
#   4. berth/demo:broken turns unhealthy, and berth/busybox:1 serves its page;
#   5. demo and busybox tasks stop at once, although each is PID 1 in its container;
#   6. berth/postgres:15 with its password in a secret initialises its volume and becomes healthy,
#      psql from another container reaches it by name with that password (and not without), and
#      a row survives a new task on the same volume; berth/redis:7 keeps a key across a new task.
#
# Services are created with --no-resolve-image, so that the engine does not try to reach a
# registry to pin the image digest. Everything it creates is named berthtest-<suffix> and removed
# on exit. It talks only to 127.0.0.1 and to the containers it creates.
#
# Usage: scripts/verify-images.sh [PUBLISHED_PORT]   (default 18080)
# Extra Traefik arguments can be passed in TRAEFIK_EXTRA_ARGS, for example
# TRAEFIK_EXTRA_ARGS=--providers.providersThrottleDuration=0s.
set -euo pipefail

PORT=${1:-18080}
SUFFIX="$(date +%s)-$$"
NET="berthtest-net-$SUFFIX"
DEMO="berthtest-demo-$SUFFIX"
DEMO2="berthtest-demo2-$SUFFIX"
PROXY="berthtest-traefik-$SUFFIX"
BUSYBOX="berthtest-busybox-$SUFFIX"
BROKEN="berthtest-broken-$SUFFIX"
PG="berthtest-pg-$SUFFIX"
REDIS="berthtest-redis-$SUFFIX"

log() { printf 'verify: %s\n' "$*"; }
die() { printf 'verify: FAILED: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
since() { awk -v ms=$(( $(now_ms) - $1 )) 'BEGIN { printf "%.1f s", ms / 1000 }'; }

cleanup() {
    set +e
    docker service rm "$PROXY" "$DEMO" "$DEMO2" "$BUSYBOX" "$PG" "$REDIS" >/dev/null 2>&1
    docker rm -f "$BROKEN" >/dev/null 2>&1
    docker secret rm "$PG" >/dev/null 2>&1
    # Removing a swarm network returns at once, but the node keeps its copy until the tasks of
    # the removed services have exited; wait for both, so that nothing is left when this ends.
    for _ in $(seq 1 60); do
        docker network rm "$NET" >/dev/null 2>&1
        if ! docker network inspect "$NET" >/dev/null 2>&1 \
            && [[ -z "$(docker ps -aq --filter "name=berthtest-.*-$SUFFIX")" ]]; then
            docker volume rm "$PG" "$REDIS" >/dev/null 2>&1
            log "removed the berthtest-*-$SUFFIX services, containers, network, secret and volumes"
            return
        fi
        sleep 0.5
    done
    log "some berthtest-*-$SUFFIX objects were still being removed after 30 s"
}
trap cleanup EXIT

# wait_until SECONDS COMMAND...: runs COMMAND every 100 ms until it succeeds.
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(now_ms) + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        (( $(now_ms) < deadline )) || return 1
        sleep 0.1
    done
}

task_container() {
    docker ps -q --filter "label=com.docker.swarm.service.name=$1" | head -n1
}

is_running() {
    [[ "$(docker service ps --filter desired-state=running --format '{{.CurrentState}}' "$1")" == Running* ]]
}

is_healthy() {
    local id
    id=$(task_container "$1")
    [[ -n "$id" && "$(docker inspect --format '{{.State.Health.Status}}' "$id")" == healthy ]]
}

# via_traefik HOST: succeeds when Traefik answers 200 for HOST on the published port.
via_traefik() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Host: $1" "http://127.0.0.1:$PORT/")" == 200 ]]
}

traefik_labels() {
    local router=$1 host=$2
    printf -- '--label\n%s\n' \
        "traefik.enable=true" \
        "traefik.http.routers.$router.rule=Host(\`$host\`)" \
        "traefik.http.services.$router.loadbalancer.server.port=8080" \
        "traefik.swarm.network=$NET"
}

[[ "$(docker info --format '{{.Swarm.LocalNodeState}}')" == active ]] || die "swarm is not active; run scripts/swarm-init.sh"
for image in berth/demo:1 berth/demo:2 berth/demo:broken berth/busybox:1 berth/traefik:3.7.15 \
    berth/postgres:15 berth/redis:7; do
    docker image inspect "$image" >/dev/null 2>&1 || die "$image is missing; run scripts/prepare-images.sh"
done

docker network create --driver overlay --attachable "$NET" >/dev/null
log "created overlay network $NET ($(docker network inspect --format '{{(index .IPAM.Config 0).Subnet}}' "$NET"))"

mapfile -t labels < <(traefik_labels berthtest demo.test)
start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$DEMO" --network "$NET" --endpoint-mode dnsrr \
    "${labels[@]}" berth/demo:1 >/dev/null
wait_until 60 is_running "$DEMO" || die "$DEMO did not start"
log "$DEMO running after $(since "$start")"
wait_until 60 is_healthy "$DEMO" || die "$DEMO did not become healthy"
log "$DEMO healthy after $(since "$start")"

output=$(docker run --rm --network "$NET" berth/demo:1 get "http://$DEMO:8080/") || die "get by service name: $output"
log "from a container on $NET, get http://$DEMO:8080/ printed: $(echo "$output" | tr '\n' ' ')"
output=$(docker run --rm --network "$NET" berth/demo:1 connect "$DEMO:8080") || die "connect: $output"
log "connect $DEMO:8080: $output"

start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$PROXY" --network "$NET" \
    --mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock,ro \
    --publish "mode=host,published=$PORT,target=80" \
    berth/traefik:3.7.15 \
    --providers.swarm=true --providers.swarm.exposedByDefault=false \
    --providers.swarm.refreshSeconds=1s --entrypoints.web.address=:80 ${TRAEFIK_EXTRA_ARGS:-} >/dev/null
wait_until 60 is_running "$PROXY" || die "$PROXY did not start"
log "$PROXY running after $(since "$start")"
wait_until 60 via_traefik demo.test || die "Traefik never answered 200 for demo.test"
log "first 200 via Traefik for demo.test $(since "$start") after creating the Traefik service"
log "curl -H 'Host: demo.test' http://127.0.0.1:$PORT/ printed: $(curl -s --max-time 2 -H 'Host: demo.test' "http://127.0.0.1:$PORT/")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Host: unknown.test' "http://127.0.0.1:$PORT/")
log "an unknown host gets $code from Traefik"
start=$(now_ms)
output=$("$(dirname "$0")/../target/x86_64-unknown-linux-gnu/release/berth-demo" get "http://127.0.0.1:$PORT/" \
    --host demo.test --count 1000) || die "1000 requests via Traefik: $output"
log "1000 sequential keep-alive requests via Traefik took $(since "$start"): $(echo "$output" | head -n1)"
problems=$(docker service logs --raw "$PROXY" 2>&1 | grep -E 'level=(error|warn)|"level":"(error|warn)"| (ERR|WRN) ' || true)
log "Traefik logged $(printf '%s' "$problems" | grep -c . || true) warnings or errors${problems:+:}"
[[ -z "$problems" ]] || printf '%s\n' "$problems" | head -n 5

mapfile -t labels < <(traefik_labels berthtest2 demo2.test)
start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$DEMO2" --network "$NET" --endpoint-mode dnsrr \
    "${labels[@]}" berth/demo:2 >/dev/null
wait_until 60 via_traefik demo2.test || die "Traefik never answered 200 for demo2.test"
log "with Traefik running: first 200 for demo2.test $(since "$start") after creating $DEMO2"
log "demo2.test answers: $(curl -s --max-time 2 -H 'Host: demo2.test' "http://127.0.0.1:$PORT/")"

start=$(now_ms)
docker run -d --name "$BROKEN" --network none berth/demo:broken >/dev/null
wait_until 60 bash -c "[[ \$(docker inspect --format '{{.State.Health.Status}}' $BROKEN) == unhealthy ]]" \
    || die "berth/demo:broken never became unhealthy"
log "berth/demo:broken unhealthy after $(since "$start")"

start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$BUSYBOX" --network "$NET" --endpoint-mode dnsrr berth/busybox:1 >/dev/null
wait_until 60 is_healthy "$BUSYBOX" || die "$BUSYBOX did not become healthy"
output=$(docker run --rm --network "$NET" berth/demo:1 get "http://$BUSYBOX:8080/") || die "busybox: $output"
log "$BUSYBOX healthy after $(since "$start"); get printed: $(echo "$output" | head -n1)"

for service in "$DEMO" "$BUSYBOX"; do
    id=$(task_container "$service")
    start=$(now_ms)
    docker stop "$id" >/dev/null
    log "docker stop of the $service task took $(since "$start"), exit code $(docker inspect --format '{{.State.ExitCode}}' "$id")"
done
# new_task SERVICE: replaces the task of SERVICE (same spec, same volume) and waits for its health.
new_task() {
    local old
    old=$(task_container "$1")
    docker service update --quiet --detach --force "$1" >/dev/null
    wait_until 90 bash -c "[[ -n \$(docker ps -q --filter label=com.docker.swarm.service.name=$1) && \
        \$(docker ps -q --filter label=com.docker.swarm.service.name=$1) != *$old* ]]" && wait_until 90 is_healthy "$1"
}

printf 'verify-%s' "$SUFFIX" | docker secret create "$PG" - >/dev/null
start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$PG" --network "$NET" --endpoint-mode dnsrr \
    --secret "source=$PG,target=pg_password" --env POSTGRES_PASSWORD_FILE=/run/secrets/pg_password \
    --env POSTGRES_DB=verify --mount "type=volume,src=$PG,dst=/var/lib/postgresql/data" berth/postgres:15 >/dev/null
wait_until 90 is_healthy "$PG" || die "$PG did not become healthy: $(docker service logs --raw "$PG" 2>&1 | tail -n 5)"
log "$PG initialised its volume and became healthy after $(since "$start")"
psql_remote() {
    docker run --rm --network "$NET" -e "PGPASSWORD=$1" --entrypoint psql berth/postgres:15 \
        -h "$PG" -U postgres -d verify -tAc "$2"
}
psql_remote "verify-$SUFFIX" 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)' >/dev/null \
    || die "psql by service name with the secret's password failed"
if psql_remote wrong 'SELECT 1' >/dev/null 2>&1; then die "$PG accepted a wrong password"; fi
start=$(now_ms)
new_task "$PG" || die "the new $PG task did not become healthy"
# The embedded DNS may still lack the new task's address for a moment.
kept=""
for _ in $(seq 1 20); do
    kept=$(psql_remote "verify-$SUFFIX" 'SELECT n FROM kept' 2>/dev/null) && break
    sleep 0.5
done
[[ "$kept" == 42 ]] || die "the row did not survive a new task (read: '$kept')"
log "a row written over the network survived a new $PG task (healthy again after $(since "$start"))"

start=$(now_ms)
docker service create --detach --quiet --no-resolve-image --name "$REDIS" --network "$NET" --endpoint-mode dnsrr \
    --mount "type=volume,src=$REDIS,dst=/data" berth/redis:7 >/dev/null
wait_until 60 is_healthy "$REDIS" || die "$REDIS did not become healthy"
log "$REDIS healthy after $(since "$start")"
redis_remote() { docker run --rm --network "$NET" --entrypoint redis-cli berth/redis:7 -h "$REDIS" "$@"; }
[[ "$(redis_remote set kept yes)" == OK ]] || die "redis-cli set by service name failed"
new_task "$REDIS" || die "the new $REDIS task did not become healthy"
kept=""
for _ in $(seq 1 20); do
    kept=$(redis_remote get kept 2>/dev/null) && break
    sleep 0.5
done
[[ "$kept" == yes ]] || die "the key did not survive a new $REDIS task"
log "a key survived a new $REDIS task (append-only file on the volume)"
log "all checks passed"
