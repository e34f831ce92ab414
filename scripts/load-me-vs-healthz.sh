#!/usr/bin/env bash
# Load run on loopback: authenticated GET /api/v1/me against GET /healthz,
# alternating in one run so both see the same machine state.
# Usage: scripts/load-me-vs-healthz.sh [sqlite|postgres] [SECONDS] [CONNECTIONS]
# Needs: a release build (cargo build --release), wrk, curl.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-64}"
bin=target/release/tessera
port=18181
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

if [ "$backend" = postgres ]; then
    db="tessera_load_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
    export TESSERA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"' EXIT
else
    export TESSERA_DATABASE_URL="sqlite://$work/load.db"
fi
export TESSERA_LOG=warn
$bin admin create-org --slug load --name Load >/dev/null
$bin admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
$bin serve --listen "127.0.0.1:$port" &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
key=$(curl -fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json' \
    -d '{"name":"load"}' "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')
curl -fs -H "X-API-KEY: $key" "http://127.0.0.1:$port/api/v1/me" >/dev/null

echo "backend=$backend seconds=$seconds connections=$connections cores=$(nproc)"
for round in 1 2 3; do
    for target in healthz me; do
        case "$target" in
            healthz) args=("http://127.0.0.1:$port/healthz") ;;
            me) args=(-H "X-API-KEY: $key" "http://127.0.0.1:$port/api/v1/me") ;;
        esac
        rps=$(wrk -t2 -c"$connections" -d"${seconds}s" "${args[@]}" | awk '/Requests\/sec/ {print $2}')
        echo "round $round $target requests/s $rps"
    done
done
