#!/usr/bin/env bash
# Events feed load run on loopback (docs/performance.md, "Events feed"):
#   1. lag: writers create employees at RATE/s for SECONDS while a follower
#      reads the feed; the lag of each event from its creation to the
#      follower (scripts/feed-follower.py);
#   2. POST /api/v1/employees throughput with wrk (every write now takes its
#      organisation's event-order lock on PostgreSQL);
#   3. pages of 200 with 1,000,000 events stored: 1,000 requests following
#      the feed from its start.
# Usage: scripts/load-events.sh [sqlite|postgres] [RATE] [SECONDS]
# Needs: a release build (cargo build --release), wrk, curl, python3, psql.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
rate="${2:-1000}"
seconds="${3:-20}"
bin="${CARGO_TARGET_DIR:-target}/release/tessera"
port=18184
work=$(mktemp -d)
server=
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    db="tessera_feed_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
    export TESSERA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
else
    export TESSERA_DATABASE_URL="sqlite://$work/load.db"
fi
export TESSERA_LOG=warn
"$bin" admin create-org --slug load --name Load >/dev/null
"$bin" admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
"$bin" admin set-rate-limit --org load --rate 1000000 --burst 1000000 >/dev/null

start_server() {
    "$bin" serve --listen "127.0.0.1:$port" &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }
start_server
admin=(-fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json')
key=$(curl "${admin[@]}" -d '{"name":"feed follower"}' "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')

echo "backend=$backend rate=$rate seconds=$seconds cores=$(nproc)"
python3 scripts/feed-follower.py lag "$port" "$key" "$rate" "$seconds"

cat >"$work/post-employee.lua" <<LUA
counter = 0
request = function()
    counter = counter + 1
    local body = '{"first_name":"Ada","last_name":"Load ' .. counter .. '","status":"active"}'
    return wrk.format("POST", "/api/v1/employees", {["X-API-KEY"] = "$key", ["Content-Type"] = "application/json"}, body)
end
LUA
posts=$(wrk -t2 -c32 -d10s -s "$work/post-employee.lua" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {print $2}')
echo "POST /api/v1/employees with wrk -t2 -c32 -d10s: $posts req/s"
stop_server

# A million copies of a real event of the organisation, then the walk.
copy="SELECT organization_id, event_type, resource, data, created_at FROM webhook_events
      WHERE event_type = 'employees.created' LIMIT 1"
if [ "$backend" = postgres ]; then
    psql -q -h 127.0.0.1 -U postgres -d "$db" -c "INSERT INTO webhook_events (id, organization_id, event_type, resource, data, created_at)
        SELECT 'evt_bulk_' || g, e.organization_id, e.event_type, e.resource, e.data, e.created_at
        FROM ($copy) e, generate_series(1, 1000000) g; ANALYZE webhook_events;"
else
    python3 - "$work/load.db" "$copy" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute(f"""WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1000000)
    INSERT INTO webhook_events (id, organization_id, event_type, resource, data, created_at)
    SELECT 'evt_bulk_' || n, e.organization_id, e.event_type, e.resource, e.data, e.created_at
    FROM ({sys.argv[2]}) e, g""")
db.commit()
db.execute("ANALYZE")
PY
fi
start_server
python3 scripts/feed-follower.py pages "$port" "$key" 1000
