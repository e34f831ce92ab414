#!/usr/bin/env bash
# Every whole-request ratio of docs/performance.md in one run, on both
# backends, so a later change can be compared on the same machine.
#
# For each backend: an organisation with EMPLOYEES employees (imported), a
# key restricted to five employee fields (read only) and a writer key; then
# ROUNDS rounds of wrk -t2 -cCONNECTIONS -dSECONDS alternating
#   /healthz, W1 GET /api/v1/employees/{id} (random ids), W2 GET /api/v1/employees?limit=50
# against Tessera and, on SQLite, against the floor server (benches/floor)
# reading the same file. Then W1 paced at half its peak (p50/p99 latency)
# and POST /api/v1/employees (creates/s, refusals, "database is locked").
#
# Usage: scripts/bench-all.sh [SECONDS] [CONNECTIONS]
#   ROUNDS=3 BACKENDS="sqlite postgres" EMPLOYEES=10000 USAGE_RECORDING=on
#   TESSERA_BIN=path/to/another/tessera (e.g. an earlier commit's build, to compare)
# Needs: cargo build --release -p tessera-cli -p tessera-floor, wrk, curl, python3, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
rounds="${ROUNDS:-3}"
backends="${BACKENDS:-sqlite postgres}"
employees="${EMPLOYEES:-10000}"
release="${CARGO_TARGET_DIR:-target}/release"
tessera="${TESSERA_BIN:-$release/tessera}"
floor="$release/tessera-floor"
port=18190
floor_port=18191
work=$(mktemp -d)
server= floor_server= db=
stop_servers() {
    for pid in $server $floor_server; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    server= floor_server=
    if [ -n "$db" ]; then psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; db=; fi
}
trap 'stop_servers; rm -rf "$work"' EXIT
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[ -x "$tessera" ] && [ -x "$floor" ] || { echo "build first: cargo build --release -p tessera-cli -p tessera-floor" >&2; exit 1; }

wait_for() { for _ in $(seq 1 200); do curl -fs "$1" >/dev/null && return 0; sleep 0.05; done; echo "$1 never answered" >&2; exit 1; }
# rps LABEL WRK-ARGS...: one wrk run; prints and returns requests/s.
rps() {
    local label=$1; shift
    local out; out=$(wrk -t2 -c"$connections" -d"${seconds}s" "$@")
    local value; value=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local errors; errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    echo "  $label ${value} req/s${errors:+ (non-2xx: $errors)}" >&2
    echo "$value"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

setup_backend() {
    local backend=$1
    if [ "$backend" = postgres ]; then
        db="tessera_bench_$$"
        psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
        export TESSERA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    else
        rm -f "$work"/bench.db*
        export TESSERA_DATABASE_URL="sqlite://$work/bench.db"
    fi
    export TESSERA_LOG=warn TESSERA_USAGE_RECORDING="${USAGE_RECORDING:-on}" TESSERA_DRAIN_SECONDS=0
    "$tessera" admin create-org --slug bench --name Bench >/dev/null
    "$tessera" admin create-user --org bench --username bench-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
    "$tessera" admin set-rate-limit --org bench --rate 1000000 --burst 1000000 >/dev/null
    python3 scripts/employees-csv.py "$employees" >"$work/employees.csv"
    "$tessera" import employees "$work/employees.csv" --org bench >/dev/null 2>&1
    "$tessera" serve --listen "127.0.0.1:$port" 2>"$work/server-$backend.log" &
    server=$!
    wait_for "http://127.0.0.1:$port/healthz"
    create_key() {
        curl -fs -u 'bench-admin:load-harbour-quokka-7' -H 'Content-Type: application/json' \
            -d "$1" "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/'
    }
    writer=$(create_key '{"name":"bench writer"}')
    reader=$(create_key '{"name":"calendar","permissions":{"employees":{"actions":["read"],"fields":["id","first_name","last_name","start_date","end_date"]}}}')
    python3 - "$port" "$writer" "$work/ids.txt" <<'PYEOF'
import http.client, json, sys
port, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port)
ids, cursor = [], None
while True:
    path = "/api/v1/employees?limit=200" + (f"&cursor={cursor}" if cursor else "")
    conn.request("GET", path, headers={"X-API-KEY": key})
    page = json.loads(conn.getresponse().read())
    ids += [record["id"] for record in page["data"]]
    cursor = page.get("next_cursor")
    if not cursor:
        break
open(out, "w").write("\n".join(ids) + "\n")
PYEOF
    cat >"$work/w1.lua" <<LUAEOF
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
    return wrk.format("GET", "/api/v1/employees/" .. ids[math.random(#ids)])
end
local pause_ms = tonumber(os.getenv("PAUSE_MS") or "0")
if pause_ms > 0 then delay = function() return pause_ms end end
LUAEOF
    cat >"$work/post.lua" <<LUAEOF
counter = 0
request = function()
    counter = counter + 1
    local body = '{"first_name":"Ada","last_name":"Bench ' .. counter .. '","status":"active"}'
    return wrk.format("POST", "/api/v1/employees", {["X-API-KEY"] = "$writer", ["Content-Type"] = "application/json"}, body)
end
LUAEOF
    if [ "$backend" = sqlite ]; then
        "$floor" "$work/bench.db" "127.0.0.1:$floor_port" >/dev/null &
        floor_server=$!
        wait_for "http://127.0.0.1:$floor_port/healthz"
    fi
}

run_backend() {
    local backend=$1
    setup_backend "$backend"
    echo "== $backend: employees=$employees seconds=$seconds connections=$connections cores=$(nproc) usage recording=${USAGE_RECORDING:-on}"
    local t="http://127.0.0.1:$port" f="http://127.0.0.1:$floor_port"
    local -a w1=() healthz=()
    for round in $(seq 1 "$rounds"); do
        echo " round $round" >&2
        local fh="" fw1="" fw2=""
        if [ "$backend" = sqlite ]; then fh=$(rps "floor /healthz" "$f/healthz"); fi
        local th; th=$(rps "tessera /healthz" "$t/healthz")
        if [ "$backend" = sqlite ]; then fw1=$(rps "floor W1" -s "$work/w1.lua" -H "X-API-KEY: $reader" "$f"); fi
        local tw1; tw1=$(rps "tessera W1" -s "$work/w1.lua" -H "X-API-KEY: $reader" "$t")
        if [ "$backend" = sqlite ]; then fw2=$(rps "floor W2" -H "X-API-KEY: $reader" "$f/api/v1/employees?limit=50"); fi
        local tw2; tw2=$(rps "tessera W2" -H "X-API-KEY: $reader" "$t/api/v1/employees?limit=50")
        w1+=("$tw1"); healthz+=("$th")
        local line="round $round $backend: W1/healthz $(ratio "$tw1" "$th") W2/healthz $(ratio "$tw2" "$th")"
        if [ "$backend" = sqlite ]; then
            line+=" | vs floor: healthz $(ratio "$th" "$fh") W1 $(ratio "$tw1" "$fw1") W2 $(ratio "$tw2" "$fw2")"
        fi
        echo "$line"
    done
    # Half the median W1 peak, paced: each connection pauses between requests.
    local half; half=$(python3 -c "print(int($(median "${w1[@]}") / 2))")
    local pause; pause=$(python3 -c "print(max(0, round($connections * 1000 / $half - 1)))")
    local paced; paced=$(PAUSE_MS=$pause wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/w1.lua" -H "X-API-KEY: $reader" "$t")
    echo "$backend W1 paced (target $half req/s): $(awk '/Requests\/sec/ {print $2}' <<<"$paced") req/s, p50 $(awk '$1 == "50%" {print $2}' <<<"$paced"), p99 $(awk '$1 == "99%" {print $2}' <<<"$paced")"
    local creates; creates=$(wrk -t2 -c32 -d"${seconds}s" -s "$work/post.lua" "$t")
    echo "$backend POST /employees: $(awk '/Requests\/sec/ {print $2}' <<<"$creates") creates/s, non-2xx $(awk '/Non-2xx/ {print $5}' <<<"$creates" | grep . || echo 0), 'database is locked' in the log: $(grep -c 'database is locked' "$work/server-$backend.log" || true)"
    stop_servers
}

for backend in $backends; do run_backend "$backend"; done
