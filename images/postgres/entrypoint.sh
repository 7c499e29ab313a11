# The entrypoint of berth/postgres (run by busybox sh). On an empty data directory it creates the
# cluster with initdb: the superuser is POSTGRES_USER (default postgres), its password comes from
# POSTGRES_PASSWORD_FILE (a secret's file) or POSTGRES_PASSWORD, and POSTGRES_DB (default: the user
# name) is created. Then it runs the server listening on every address, with password
# authentication (scram-sha-256) for every connection that does not come over the local socket.
# Arguments are passed to postgres, for example `-c max_connections=50`.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

fail() {
    echo "berth-postgres: error: $*" >&2
    exit 1
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -r "$POSTGRES_PASSWORD_FILE" ] || fail "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE cannot be read"
        POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
    fi
    [ -n "${POSTGRES_PASSWORD:-}" ] || fail "the data directory is empty and neither POSTGRES_PASSWORD_FILE nor POSTGRES_PASSWORD is set"
    [ -w "$PGDATA" ] || fail "$PGDATA is not writable by uid $(id -u); mount a volume created for this image"
    echo "berth-postgres: initialising a new cluster in $PGDATA for user $POSTGRES_USER" >&2
    # The password reaches initdb through a pipe, never a file or the command line.
    printf '%s\n' "$POSTGRES_PASSWORD" | initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" \
        --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --no-locale --no-instructions >&2
    unset POSTGRES_PASSWORD
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        # Single-user mode runs no listener, so no client can connect before the set-up is done.
        db=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
        echo "CREATE DATABASE \"$db\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off "$@"
