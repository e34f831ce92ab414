#!/usr/bin/env bash
# Load run on loopback for usage recording (docs/usage.md):
#  1. GET /api/v1/employees/{id} on random ids of 10,000 employees with a
#     field-restricted key, recording off and on in alternating rounds on
#     the same database (one server at a time), so both see the same
#     machine state; after each recording-on round, the writer's figures
#     from /metrics (records written and dropped, batch write time).
#  2. The raw log filled to ROWS rows and 30 days of daily roll-ups (SQL-
#     generated), then GET /api/v1/usage?group_by=key for 30 days timed
#     against the same request over an empty range (same password check),
#     and the bytes each raw row takes on disk.
# Usage: [ROUNDS=3] scripts/load-usage.sh [sqlite|postgres] [SECONDS] [CONNECTIONS] [ROWS]
# Needs: a release build (cargo build --release), wrk, curl, python3, and
# sqlite3 or psql.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-64}"
rows="${4:-10000000}"
bin="${CARGO_TARGET_DIR:-target}/release/tessera"
port=18183
employees=10000
work=$(mktemp -d)
server=
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}
cleanup() {
    stop_server
    if [ "$backend" = postgres ]; then
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    db="tessera_usage_load_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
    export TESSERA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
    sql() { psql -qAt -h 127.0.0.1 -U postgres -d "$db" -c "$1"; }
    sql_file() { psql -qAt -h 127.0.0.1 -U postgres -d "$db" -f "$1"; }
else
    export TESSERA_DATABASE_URL="sqlite://$work/load.db"
    sql() { sqlite3 "$work/load.db" "$1"; }
    sql_file() { sqlite3 "$work/load.db" < "$1"; }
fi
export TESSERA_LOG=warn
start_server() {
    TESSERA_USAGE_RECORDING="$1" "$bin" serve --listen "127.0.0.1:$port" &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "server did not start" >&2
    exit 1
}
"$bin" admin create-org --slug load --name Load >/dev/null
"$bin" admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
"$bin" admin set-rate-limit --org load --rate 1000000 --burst 1000000 >/dev/null
start_server off
create_key() {
    curl -fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json' \
        -d "$1" "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/'
}
writer=$(create_key '{"name":"load writer"}')
reader=$(create_key '{"name":"calendar","permissions":{"employees":{"actions":["read"],"fields":["id","first_name","last_name","start_date","end_date"]}}}')

python3 - "$port" "$writer" "$employees" "$work/ids.txt" <<'EOF'
import http.client, json, random, sys
port, key, count, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
random.seed(7)
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"X-API-KEY": key, "Content-Type": "application/json"}
ids = []
for n in range(count):
    body = {"first_name": random.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara"]),
            "last_name": f"Employee {n}", "employee_number": f"E{n:06d}",
            "email": f"e{n}@example.com", "iban": "DE89370400440532013000",
            "start_date": "2020-01-01", "status": "active"}
    conn.request("POST", "/api/v1/employees", json.dumps(body), headers)
    response = conn.getresponse()
    answer = json.loads(response.read())
    if response.status != 201:
        sys.exit(f"creating employee {n} failed: {answer}")
    ids.append(answer["id"])
with open(out, "w") as f:
    f.write("\n".join(ids) + "\n")
EOF
stop_server

cat >"$work/random-employee.lua" <<EOF
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
    return wrk.format("GET", "/api/v1/employees/" .. ids[math.random(#ids)])
end
EOF

metric() {
    curl -fs "http://127.0.0.1:$port/metrics" | awk -v name="$1" '$1 == name {print $2}' | head -1
}

echo "backend=$backend employees=$employees seconds=$seconds connections=$connections cores=$(nproc)"
for round in $(seq 1 "${ROUNDS:-3}"); do
    for recording in off on; do
        start_server "$recording"
        rps=$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$work/random-employee.lua" \
            -H "X-API-KEY: $reader" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {print $2}')
        if [ "$recording" = on ]; then
            sleep 2 # the writer's last batch
            written=$(metric tessera_usage_records_written_total)
            dropped=$(metric tessera_usage_records_dropped_total)
            busy=$(metric tessera_usage_batch_write_duration_seconds_sum)
            batches=$(metric tessera_usage_batch_write_duration_seconds_count)
            capacity=$(python3 -c "print(round(${written:-0} / ${busy:-1}))")
            echo "round $round recording=on requests/s $rps written ${written:-0} dropped ${dropped:-0} batches ${batches:-0} writer-busy-s ${busy:-0} writer-rows/s-while-busy $capacity"
        else
            echo "round $round recording=off requests/s $rps"
        fi
        stop_server
    done
done

# A large log: ROWS raw rows over 30 days for 20 keys, and the matching
# daily roll-ups (30 days x 20 keys x 4 routes x 3 statuses).
organization=$(sql "SELECT id FROM organizations WHERE slug = 'load'")
now_ms=$(python3 -c 'import time; print(int(time.time() * 1000))')
day_ms=86400000
if [ "$backend" = postgres ]; then
    series="SELECT generate_series(0::bigint, $rows - 1) AS i"
    pad="lpad(i::text, 26, '0')"
    key_pad="lpad((i % 20)::text, 26, '0')"
else
    series="WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $rows - 1) SELECT i FROM n"
    pad="printf('%026d', i)"
    key_pad="printf('%026d', i % 20)"
fi
started=$(date +%s)
sql "INSERT INTO usage_requests (id, organization_id, at, key_id, client_id, method, route, status, latency_ms, client_ip, request_id, fields)
     SELECT 'req_' || $pad, '$organization', $now_ms - (i % $((30 * 86400000))), 'key_' || $key_pad, NULL, 'GET',
            CASE i % 4 WHEN 0 THEN '/api/v1/employees/{id}' WHEN 1 THEN '/api/v1/employees' WHEN 2 THEN '/api/v1/pay-rates' ELSE '/api/v1/me' END,
            CASE WHEN i % 50 = 0 THEN 404 ELSE 200 END, i % 7, '203.0.113.7', 'abcdefghij' || $pad,
            CASE WHEN i % 2 = 0 THEN 'id,first_name,last_name,start_date,end_date' END
     FROM ($series) AS numbers"
python3 - "$organization" "$now_ms" "$rows" > "$work/daily.sql" <<'EOF'
import sys
organization, now, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
day = 86_400_000
values = []
for d in range(30):
    for k in range(20):
        for route in ["/api/v1/employees/{id}", "/api/v1/employees", "/api/v1/pay-rates", "/api/v1/me"]:
            for status in [200, 404, 500]:
                values.append(f"('{organization}', {(now // day - d) * day}, 'key_{k:026d}', '', '{route}', {status}, {rows // 7200}, {rows // 7200})")
print("INSERT INTO usage_daily (organization_id, day, key_id, client_id, route, status, requests, latency_le_5ms) VALUES " + ", ".join(values) + ";")
EOF
sql_file "$work/daily.sql"
echo "filled $rows raw rows in $(( $(date +%s) - started )) s"
if [ "$backend" = postgres ]; then
    sql "VACUUM ANALYZE usage_requests" >/dev/null
    sql "VACUUM ANALYZE usage_daily" >/dev/null
    bytes=$(sql "SELECT pg_total_relation_size('usage_requests') / (SELECT COUNT(*) FROM usage_requests)")
else
    sql "ANALYZE" >/dev/null
    bytes=$(sql "SELECT SUM(pgsize) / (SELECT COUNT(*) FROM usage_requests) FROM dbstat WHERE name IN ('usage_requests', 'usage_requests_by_organization', 'sqlite_autoindex_usage_requests_1')")
fi
echo "bytes per raw row (table and indexes): $bytes"

start_server on
time_of() {
    for _ in 1 2 3 4 5; do
        curl -fs -o /dev/null -w '%{time_total}\n' -u 'load-admin:load-harbour-quokka-7' "http://127.0.0.1:$port$1"
    done | sort -n | sed -n 3p
}
day=$(date -u +%Y-%m-%d)
month_ago=$(date -u -d '29 days ago' +%Y-%m-%d)
echo "GET /api/v1/usage?group_by=key 30 days, median of 5 (s): $(time_of "/api/v1/usage?group_by=key&from=$month_ago&to=${day}T23:59:59Z")"
echo "the same over an empty range (password check only), median of 5 (s): $(time_of "/api/v1/usage?group_by=key&from=1971-01-01&to=1971-01-31")"
echo "GET /api/v1/usage/requests?limit=50, median of 5 (s): $(time_of "/api/v1/usage/requests?limit=50")"
