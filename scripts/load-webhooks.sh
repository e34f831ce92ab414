#!/usr/bin/env bash
# Webhook load run on loopback (docs/performance.md, "Webhooks"):
#   1. POST /api/v1/employees throughput with no endpoint, then with one
#      subscribed endpoint (wrk, same run);
#   2. delivery throughput: an import of IMPORTED employees delivered to a
#      local receiver (scripts/webhook-receiver.py), first to last arrival;
#   3. commit-to-receiver latency at 100 events/s for 10 s;
#   4. `tessera import` of 100,000 employees with the endpoint disabled
#      (no messages) and enabled (one message per row).
# Usage: scripts/load-webhooks.sh [sqlite|postgres] [SECONDS] [IMPORTED]
# Needs: a release build (cargo build --release), wrk, curl, python3.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-10}"
imported="${3:-20000}"
bin="${CARGO_TARGET_DIR:-target}/release/tessera"
port=18183
receiver_port=18190
work=$(mktemp -d)
server=
receiver=
cleanup() {
    kill "$server" "$receiver" 2>/dev/null || true
    wait "$server" "$receiver" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    db="tessera_hooks_$$"
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
    "$bin" serve --listen "127.0.0.1:$port" --webhook-allowed-networks 127.0.0.1/32 --webhook-poll-ms 100 &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
start_server
python3 scripts/webhook-receiver.py "$receiver_port" "$work/arrivals.txt" &
receiver=$!
admin=(-fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json')
key=$(curl "${admin[@]}" -d '{"name":"load writer"}' "http://127.0.0.1:$port/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')

cat >"$work/post-employee.lua" <<EOF
counter = 0
request = function()
    counter = counter + 1
    local body = '{"first_name":"Ada","last_name":"Load ' .. counter .. '","status":"active"}'
    return wrk.format("POST", "/api/v1/employees", {["X-API-KEY"] = "$key", ["Content-Type"] = "application/json"}, body)
end
EOF
arrived() { wc -l <"$work/arrivals.txt" 2>/dev/null || echo 0; }
# Waits until the receiver has N arrivals (or 120 s pass).
wait_for_arrivals() {
    for _ in $(seq 1 1200); do [ "$(arrived)" -ge "$1" ] && return 0; sleep 0.1; done
    echo "only $(arrived) of $1 arrivals" >&2
}
post_rate() {
    wrk -t2 -c32 -d"${seconds}s" -s "$work/post-employee.lua" "http://127.0.0.1:$port" |
        awk '/Requests\/sec/ {print $2}'
}

echo "backend=$backend seconds=$seconds imported=$imported cores=$(nproc)"
without=$(post_rate)
endpoint=$(curl "${admin[@]}" -d "{\"url\":\"http://127.0.0.1:$receiver_port/hook\",\"events\":[\"employees.*\"]}" \
    "http://127.0.0.1:$port/api/v1/webhook-endpoints" | sed -E 's/.*"id":"(wep_[^"]+)".*/\1/')
with=$(post_rate)
echo "POST /api/v1/employees: no endpoint $without req/s, one endpoint $with req/s ($(python3 -c "print(f'{$with/$without:.0%}')"))"
wait_for_arrivals "$(python3 -c "print(int($with * $seconds * 0.98))")"
sleep 2

# Delivery throughput: the import commits every message at once; the
# worker finds them at its next poll and sends them as fast as it can.
python3 -c "
print('first_name,last_name')
for n in range($imported): print(f'Import,Row {n}')" >"$work/import.csv"
before=$(arrived)
"$bin" import employees "$work/import.csv" --org load >/dev/null
wait_for_arrivals $((before + imported))
python3 - "$work/arrivals.txt" "$before" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])][int(sys.argv[2]):]
times = sorted(int(r[1]) for r in rows)
span = (times[-1] - times[0]) / 1000
print(f"delivery: {len(rows)} messages in {span:.2f} s = {len(rows) / span:.0f} messages/s (first to last arrival)")
PY

# Latency: 100 events a second for 10 s, each from its own commit.
before=$(arrived)
python3 - "$port" "$key" <<'PY'
import http.client, json, sys, time
port, key = int(sys.argv[1]), sys.argv[2]
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"X-API-KEY": key, "Content-Type": "application/json"}
start = time.monotonic()
for n in range(1000):
    time.sleep(max(0, start + n / 100 - time.monotonic()))
    conn.request("POST", "/api/v1/employees", json.dumps({"first_name": "Lat", "last_name": f"{n}"}), headers)
    conn.getresponse().read()
PY
wait_for_arrivals $((before + 1000))
python3 - "$work/arrivals.txt" "$before" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])][int(sys.argv[2]):]
lat = sorted(int(r[1]) - int(r[2]) for r in rows)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"commit-to-receiver at 100 events/s: {len(lat)} events, p50 {pick(0.5)} ms, p99 {pick(0.99)} ms, max {lat[-1]} ms")
PY

# Import of 100,000 employees, server stopped: without messages, then with.
kill "$server"; wait "$server" 2>/dev/null || true
python3 -c "
print('first_name,last_name')
for n in range(100000): print(f'Bulk,Row {n}')" >"$work/bulk.csv"
set_enabled() {
    start_server
    curl "${admin[@]}" -X PATCH -d "{\"enabled\":$1}" "http://127.0.0.1:$port/api/v1/webhook-endpoints/$endpoint" >/dev/null
    kill "$server"; wait "$server" 2>/dev/null || true
}
timed_import() {
    local started ended
    started=$(date +%s.%N)
    "$bin" import employees "$work/bulk.csv" --org load >/dev/null
    ended=$(date +%s.%N)
    python3 -c "print(f'{$ended - $started:.1f}')"
}
set_enabled false
plain=$(timed_import)
set_enabled true
hooked=$(timed_import)
echo "import of 100,000 employees: no endpoint $plain s, one endpoint $hooked s ($(python3 -c "print(f'{$hooked/$plain:.2f}')")x)"
