#!/usr/bin/env bash
# A Tessera cluster on one machine: four `tessera serve` instances on one
# PostgreSQL database (and, with --redis, one Redis) behind HAProxy, all on
# loopback. See docs/scaling.md.
#
#   scripts/cluster.sh up [--redis]   start everything on a fresh database
#   scripts/cluster.sh status         each instance, and HAProxy's view of it
#   scripts/cluster.sh restart [N]    rolling restart (or instance N only): each
#                                     instance drains, stops, starts and is back
#                                     in HAProxy's rotation before the next one
#   scripts/cluster.sh down           stop everything (the database is kept)
#
# Environment:
#   TESSERA_BIN                the tessera binary; by default the script runs
#                              `cargo build --release` and uses its output
#   TESSERA_CLUSTER_DIR        state: pids, logs, haproxy.cfg, sockets (./cluster)
#   TESSERA_CLUSTER_PORT       HAProxy's port on 127.0.0.1 (8080)
#   TESSERA_CLUSTER_INSTANCES  how many instances (4)
#   TESSERA_CLUSTER_POSTGRES   the PostgreSQL server on which `up` recreates the
#                              database tessera_cluster
#                              (postgres://postgres@127.0.0.1:5432)
#   TESSERA_DATABASE_URL       use this (existing) database instead
#   TESSERA_REDIS_URL          with --redis: this Redis instead of a private one
# Every other TESSERA_* variable reaches the instances, e.g.
# TESSERA_DRAIN_SECONDS (how long a stopping instance keeps serving, 5).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${TESSERA_CLUSTER_DIR:-$PWD/cluster}"
instances="${TESSERA_CLUSTER_INSTANCES:-4}"
port="${TESSERA_CLUSTER_PORT:-8080}"

die() { echo "cluster.sh: $*" >&2; exit 1; }

# A process is running unless it is gone or a zombie: an exited instance
# stays a zombie until init reaps it, which some containers do slowly.
running() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}

alive() { [ -f "$1" ] && running "$(cat "$1")"; }

# The binary, built unless the caller names one.
resolve_binary() {
    if [ -n "${TESSERA_BIN:-}" ]; then
        [ -x "$TESSERA_BIN" ] || die "TESSERA_BIN=$TESSERA_BIN is not an executable"
        echo "$TESSERA_BIN"
        return
    fi
    (cd "$root" && cargo build --release --quiet -p tessera-cli >&2)
    echo "${CARGO_TARGET_DIR:-$root/target}/release/tessera"
}

fresh_database() {
    local server="${TESSERA_CLUSTER_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
    PGOPTIONS="--client-min-messages=warning" psql "$server/postgres" -q -v ON_ERROR_STOP=1 \
        -c 'DROP DATABASE IF EXISTS tessera_cluster WITH (FORCE)' \
        -c 'CREATE DATABASE tessera_cluster' >&2 ||
        die "cannot create the database tessera_cluster on $server"
    echo "$server/tessera_cluster"
}

private_redis() {
    redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --save "" --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 1 100); do
        redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -s "$dir/redis.sock" ping >/dev/null || die "redis-server did not start (see $dir/redis.log)"
    echo "redis+unix://$dir/redis.sock"
}

# start_instance N [PORT]: starts instance N on PORT (any free port when
# omitted) and waits until it listens; records its pid and port.
start_instance() {
    local n="$1" listen="127.0.0.1:${2:-0}" log="$dir/instance-$1.log"
    local seen=0
    [ -f "$log" ] && seen="$(wc -l <"$log")"
    # setsid: the instance outlives this script and ignores the terminal's Ctrl-C.
    setsid "$bin" serve --listen "$listen" </dev/null >>"$log" 2>&1 &
    echo $! >"$dir/instance-$n.pid"
    local line=""
    for _ in $(seq 1 300); do
        line="$(tail -n +"$((seen + 1))" "$log" | grep -m1 -o 'tessera listening on http://[0-9.:]*' || true)"
        [ -n "$line" ] && break
        alive "$dir/instance-$n.pid" || break
        sleep 0.1
    done
    [ -n "$line" ] || { tail -n 20 "$log" >&2; die "instance $n did not start (log: $log)"; }
    echo "${line##*:}" >"$dir/instance-$n.port"
}

write_haproxy_config() {
    cat >"$dir/haproxy.cfg" <<EOF
global
    maxconn 4096
    pidfile $dir/haproxy.pid
    stats socket $dir/haproxy.sock mode 600 level admin

defaults
    mode http
    option forwardfor
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    # A request that could not reach its instance is tried again elsewhere;
    # one that reached an instance that then died only if replaying it is
    # safe (see the backend's disable-l7-retry).
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend tessera
    bind 127.0.0.1:$port
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    acl read_only method GET HEAD OPTIONS
    acl create method POST
    acl idempotency_key req.hdr(idempotency-key) -m found
    http-request disable-l7-retry unless read_only || create idempotency_key
    default-server check inter 500ms fall 1 rise 2
EOF
    for n in $(seq 1 "$instances"); do
        echo "    server tessera-$n 127.0.0.1:$(cat "$dir/instance-$n.port")" >>"$dir/haproxy.cfg"
    done
}

haproxy_command() { echo "$1" | socat stdio "unix-connect:$dir/haproxy.sock"; }

# HAProxy's state of instance N: UP, DOWN, MAINT, or a transition.
haproxy_state() {
    haproxy_command "show stat" | awk -F, -v name="tessera-$1" '$2 == name { print $18 }'
}

# wait_for_state N STATE: until HAProxy's health checks say STATE (30 s at most).
wait_for_state() {
    for _ in $(seq 1 300); do
        [ "$(haproxy_state "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    die "HAProxy does not see instance $1 $2 after 30 s (it says: $(haproxy_state "$1"))"
}

up() {
    local redis=false
    case "${1:-}" in
        --redis) redis=true ;;
        "") ;;
        *) die "unknown option '$1' (up takes --redis)" ;;
    esac
    command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy)"
    command -v socat >/dev/null || die "socat is not installed (apt-get install socat)"
    mkdir -p "$dir"
    alive "$dir/haproxy.pid" && die "a cluster is already running in $dir (scripts/cluster.sh down first)"
    trap 'echo "cluster.sh: up failed; stopping what it started" >&2; down >/dev/null 2>&1 || true' EXIT
    bin="$(resolve_binary)"
    # Assigned apart from `export`, which would hide a failure.
    if [ -z "${TESSERA_DATABASE_URL:-}" ]; then TESSERA_DATABASE_URL="$(fresh_database)"; fi
    export TESSERA_DATABASE_URL
    if [ "$redis" = false ]; then
        unset TESSERA_REDIS_URL
    elif [ -z "${TESSERA_REDIS_URL:-}" ]; then
        TESSERA_REDIS_URL="$(private_redis)"
        export TESSERA_REDIS_URL
    fi
    # HAProxy on loopback is the only proxy whose X-Forwarded-For is believed.
    export TESSERA_TRUSTED_PROXIES="${TESSERA_TRUSTED_PROXIES:-127.0.0.1/32}"
    TESSERA_LOG=warn "$bin" migrate >/dev/null
    # `restart` starts instances with the same binary and settings.
    {
        echo "bin=$(printf '%q' "$bin") instances=$instances port=$port"
        env | grep '^TESSERA_' | while IFS='=' read -r name value; do
            echo "export $name=$(printf '%q' "$value")"
        done
    } >"$dir/cluster.env"
    for n in $(seq 1 "$instances"); do start_instance "$n"; done
    write_haproxy_config
    haproxy -q -c -f "$dir/haproxy.cfg" || die "HAProxy refused $dir/haproxy.cfg"
    haproxy -D -f "$dir/haproxy.cfg" </dev/null >/dev/null 2>&1
    for n in $(seq 1 "$instances"); do wait_for_state "$n" UP; done
    echo "cluster up: http://127.0.0.1:$port (HAProxy) in front of $instances instances"
    echo "database: $TESSERA_DATABASE_URL"
    if [ "$redis" = true ]; then echo "redis: $TESSERA_REDIS_URL"; fi
    echo "state and logs: $dir"
    trap - EXIT
}

load_state() {
    [ -f "$dir/cluster.env" ] || die "no cluster in $dir (scripts/cluster.sh up first)"
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
}

status() {
    load_state
    printf '%-10s %-8s %-7s %-16s %s\n' instance pid process address /readyz
    for n in $(seq 1 "$instances"); do
        local pid="-" process=stopped address ready="-"
        [ -f "$dir/instance-$n.pid" ] && pid="$(cat "$dir/instance-$n.pid")"
        alive "$dir/instance-$n.pid" && process=running
        address="127.0.0.1:$(cat "$dir/instance-$n.port")"
        ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$address/readyz" || true)"
        printf '%-10s %-8s %-7s %-16s %s\n' "tessera-$n" "$pid" "$process" "$address" "$ready"
    done
    echo
    if alive "$dir/haproxy.pid"; then
        echo "HAProxy on http://127.0.0.1:$port (pid $(cat "$dir/haproxy.pid")):"
        haproxy_command "show stat" | awk -F, '
            $1 == "instances" && $2 != "BACKEND" {
                printf "  %-10s %-6s check %-8s sessions now %-4s total %-8s connection errors %s\n", $2, $18, $37, $5, $8, $14
            }'
    else
        echo "HAProxy is not running"
    fi
}

# stop_instance N SIGNAL: signals instance N and waits until it has exited.
stop_instance() {
    local pidfile="$dir/instance-$1.pid"
    alive "$pidfile" || return 0
    local pid
    pid="$(cat "$pidfile")"
    kill -"$2" "$pid"
    # The drain delay plus in-flight requests; past that, it is stuck.
    for _ in $(seq 1 900); do
        running "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    die "instance $1 did not stop within 90 s; killed"
}

restart() {
    load_state
    local which
    which="${1:-$(seq -s ' ' 1 "$instances")}"
    for n in $which; do
        [ -f "$dir/instance-$n.port" ] || die "no instance $n"
        echo "tessera-$n: draining (SIGTERM)"
        stop_instance "$n" TERM
        start_instance "$n" "$(cat "$dir/instance-$n.port")"
        wait_for_state "$n" UP
        echo "tessera-$n: restarted (pid $(cat "$dir/instance-$n.pid")) and UP in HAProxy"
    done
}

down() {
    [ -d "$dir" ] || return 0
    # shellcheck disable=SC1091
    if [ -f "$dir/cluster.env" ]; then . "$dir/cluster.env"; fi
    if alive "$dir/haproxy.pid"; then kill "$(cat "$dir/haproxy.pid")"; fi
    # SIGINT: no load balancer is left to drain for.
    for n in $(seq 1 "$instances"); do stop_instance "$n" INT; done
    if alive "$dir/redis.pid"; then kill "$(cat "$dir/redis.pid")"; fi
    rm -f "$dir"/*.pid "$dir/cluster.env"
    echo "cluster down (logs kept in $dir)"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    status) status ;;
    restart) shift; restart "$@" ;;
    down) down ;;
    *) die "usage: scripts/cluster.sh up [--redis] | status | restart [N] | down" ;;
esac
