#!/usr/bin/env bash
# Load run on loopback for the data API: with a key restricted to five
# employee fields (read only), GET /api/v1/employees/{id} on random ids of
# 10,000 employees and GET /api/v1/employees?limit=50, alternating with
# GET /healthz in one run so all see the same machine state.
# Usage: scripts/load-data-api.sh [sqlite|postgres] [SECONDS] [CONNECTIONS]
# Needs: a release build (cargo build --release), wrk, curl, python3.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
seconds="${2:-10}"
connections="${3:-64}"
bin="${CARGO_TARGET_DIR:-target}/release/tessera"
port=18182
employees=10000
work=$(mktemp -d)
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    fi
    rm -rf "$work"
}
server=
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    db="tessera_load_$$"
    psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db"
    export TESSERA_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
else
    export TESSERA_DATABASE_URL="sqlite://$work/load.db"
fi
export TESSERA_LOG=warn
"$bin" admin create-org --slug load --name Load >/dev/null
"$bin" admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
"$bin" admin set-rate-limit --org load --rate 1000000 --burst 1000000 >/dev/null
"$bin" serve --listen "127.0.0.1:$port" &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
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

cat >"$work/random-employee.lua" <<EOF
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
    return wrk.format("GET", "/api/v1/employees/" .. ids[math.random(#ids)])
end
EOF

echo "backend=$backend employees=$employees seconds=$seconds connections=$connections cores=$(nproc)"
for round in 1 2 3; do
    for target in healthz employee list; do
        case "$target" in
            healthz) args=("http://127.0.0.1:$port/healthz") ;;
            employee) args=(-s "$work/random-employee.lua" -H "X-API-KEY: $reader" "http://127.0.0.1:$port") ;;
            list) args=(-H "X-API-KEY: $reader" "http://127.0.0.1:$port/api/v1/employees?limit=50") ;;
        esac
        rps=$(wrk -t2 -c"$connections" -d"${seconds}s" "${args[@]}" | awk '/Requests\/sec/ {print $2}')
        echo "round $round $target requests/s $rps"
    done
done
