#!/usr/bin/env bash
# Load run on loopback: authenticated GET /api/v1/me through the in-memory
# rate limiter against the same request through the Redis limiter (one Lua
# script per request), alternating in one run. The organisation's limit is
# set so high that nothing is refused: this measures the limiter's cost.
# Usage: scripts/load-rate-limit.sh [SECONDS] [CONNECTIONS]
# Needs: a release build (cargo build --release), wrk, curl, redis-server.
set -euo pipefail
# No load balancer watches these servers: SIGTERM stops them at once.
export TESSERA_DRAIN_SECONDS=0
cd "$(dirname "$0")/.."
seconds="${1:-10}"
connections="${2:-64}"
bin=target/release/tessera
work=$(mktemp -d)
redis_port=16399
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
pids+=($!)
export TESSERA_DATABASE_URL="sqlite://$work/load.db" TESSERA_LOG=warn
$bin admin create-org --slug load --name Load >/dev/null
$bin admin create-user --org load --username load-admin --password 'load-harbour-quokka-7' --role Administrator >/dev/null
$bin admin set-rate-limit --org load --rate 1000000000 --burst 1000000000 >/dev/null
$bin serve --listen 127.0.0.1:18191 &
pids+=($!)
$bin serve --listen 127.0.0.1:18192 --redis-url "redis://127.0.0.1:$redis_port" &
pids+=($!)
for port in 18191 18192; do
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done
key=$(curl -fs -u 'load-admin:load-harbour-quokka-7' -H 'Content-Type: application/json' \
    -d '{"name":"load"}' "http://127.0.0.1:18191/api/v1/api-keys" | sed -E 's/.*"key":"([^"]+)".*/\1/')

# Warm both servers (connections, caches, the Redis script) before measuring.
for port in 18191 18192; do
    wrk -t2 -c"$connections" -d2s -H "X-API-KEY: $key" "http://127.0.0.1:$port/api/v1/me" >/dev/null
done
echo "seconds=$seconds connections=$connections cores=$(nproc)"
for round in 1 2 3; do
    for target in memory:18191 redis:18192; do
        rps=$(wrk -t2 -c"$connections" -d"${seconds}s" -H "X-API-KEY: $key" "http://127.0.0.1:${target#*:}/api/v1/me" | awk '/Requests\/sec/ {print $2}')
        echo "round $round ${target%%:*} requests/s $rps"
    done
done
curl -fs "http://127.0.0.1:18192/metrics" | grep -E '^tessera_rate_limit_(decisions_total|redis_fallbacks_total)' || true
