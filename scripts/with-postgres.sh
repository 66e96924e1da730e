#!/usr/bin/env bash
# Run a command with PYTEST_POSTGRES_URL pointing at a PostgreSQL server.
#
# If PYTEST_POSTGRES_URL is already set, the command just runs against that server.
# Otherwise this installs PostgreSQL (Debian package) if it is missing, starts a
# throwaway server on a free loopback port in a temporary folder, runs the command, and
# stops the server and removes the folder afterwards, whatever the command's outcome.
set -euo pipefail

if [[ -n "${PYTEST_POSTGRES_URL:-}" ]]; then
    exec "$@"
fi

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; elif sudo -n true 2>/dev/null; then sudo "$@"; else
        echo "with-postgres: PostgreSQL is missing and installing it needs root (or sudo);" \
            "install the 'postgresql' package or set PYTEST_POSTGRES_URL" >&2
        exit 1
    fi
}

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin=$(find_bin)
if [[ -z "$bin" ]]; then
    echo "with-postgres: installing PostgreSQL (Debian package)..." >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(find_bin)
fi

folder=$(mktemp -d /tmp/mlapi-postgres.XXXXXX)
chmod 755 "$folder"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# PostgreSQL refuses to run as root: run it as the 'postgres' account then.
run_pg=()
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$folder"
    run_pg=(runuser -u postgres --)
fi

stop() {
    "${run_pg[@]}" "$bin/pg_ctl" -D "$folder/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$folder"
}
trap stop EXIT

"${run_pg[@]}" "$bin/initdb" -D "$folder/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
"${run_pg[@]}" "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w -t 60 \
    -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

export PYTEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
"$@"
