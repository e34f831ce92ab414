#!/usr/bin/env bash
# SQLite commit durability on loopback (docs/performance.md, "SQLite
# durability"): POST /api/v1/employees throughput with
# --sqlite-synchronous full (the default), then normal, each on a fresh
# database, same wrk settings.
# Usage: scripts/load-durability.sh [SECONDS] [ROUNDS]
# Needs: a release build (cargo build --release; TESSERA_BIN=PATH picks
# another binary), wrk, curl.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
seconds="${1:-10}"
rounds="${2:-1}"
bin="${TESSERA_BIN:-${CARGO_TARGET_DIR:-target}/release/tessera}"
port=18184
work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
export TESSERA_LOG=warn

# Prints the POST rate with `--sqlite-synchronous $1` on a fresh database.
post_rate() {
    export TESSERA_DATABASE_URL="sqlite://$work/$1-$2.db"
    "$bin" admin create-org --slug load --name Load >/dev/null
    "$bin" admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
    "$bin" admin set-rate-limit --org load --rate 1000000 --burst 1000000 >/dev/null
    "$bin" serve --listen "127.0.0.1:$port" --sqlite-synchronous "$1" &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    local key
    key=$(curl -fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json' -d '{"name":"load writer"}' \
        "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')
    cat >"$work/post-employee.lua" <<LUAEND
counter = 0
request = function()
    counter = counter + 1
    local body = '{"first_name":"Ada","last_name":"Load ' .. counter .. '","status":"active"}'
    return wrk.format("POST", "/api/v1/employees", {["X-API-KEY"] = "$key", ["Content-Type"] = "application/json"}, body)
end
LUAEND
    wrk -t2 -c32 -d"${seconds}s" -s "$work/post-employee.lua" "http://127.0.0.1:$port" |
        awk '/Requests\/sec/ {print $2}'
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
}

echo "seconds=$seconds rounds=$rounds cores=$(nproc) disk=$(df -P "$work" | awk 'NR==2 {print $1}')"
for round in $(seq 1 "$rounds"); do
    full=$(post_rate full "$round")
    normal=$(post_rate normal "$round")
    echo "round $round: POST /api/v1/employees full $full req/s, normal $normal req/s ($(python3 -c "print(f'{$full/$normal:.0%}')") of normal)"
done
