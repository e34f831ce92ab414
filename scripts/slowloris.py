#!/usr/bin/env python3
"""Slowloris measurement against a local Tessera server (loopback only).

Opens many connections that each send half a request head and then stay
silent, spread over several loopback source addresses; while they are held,
times GET /healthz from a fresh connection on another loopback address.
Reports how many slow connections the server held, refused or closed, and
the /healthz latencies. Bounded: at most 20,000 connections, held at most
120 seconds, and only towards 127.0.0.0/8.

    python3 scripts/slowloris.py --port 8080 --connections 5000 --sources 5
"""

import argparse
import http.client
import ipaddress
import resource
import select
import socket
import statistics
import sys
import time

MAX_CONNECTIONS = 20_000
MAX_HOLD_SECONDS = 120
HALF_A_HEAD = b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument(
        "--sources", type=int, default=5,
        help="loopback source addresses (127.0.0.2, …) the slow connections come from",
    )
    parser.add_argument("--probes", type=int, default=50, help="/healthz requests timed")
    parser.add_argument(
        "--hold", type=float, default=3.0,
        help="seconds to keep the slow connections after the probes, to see them closed",
    )
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("refusing: this script only targets loopback addresses")
    if not 1 <= args.connections <= MAX_CONNECTIONS:
        sys.exit(f"--connections must be between 1 and {MAX_CONNECTIONS}")
    if not 0 <= args.hold <= MAX_HOLD_SECONDS:
        sys.exit(f"--hold must be between 0 and {MAX_HOLD_SECONDS} seconds")
    if not 1 <= args.sources <= 200:
        sys.exit("--sources must be between 1 and 200")
    return args


def raise_open_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        sys.exit(f"open-file limit {soft} is below the {needed} needed; raise the hard limit")


def open_slow_connections(args):
    held, failed = [], 0
    for n in range(args.connections):
        source = f"127.0.0.{2 + n % args.sources}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((source, 0))
            sock.connect((args.host, args.port))
            sock.sendall(HALF_A_HEAD)
            held.append(sock)
        except OSError:
            failed += 1
            sock.close()
    return held, failed


def still_open(sockets):
    """Sockets the server has neither answered nor closed."""
    poller = select.poll()
    for sock in sockets:
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    answered_or_closed = {fd for fd, _ in poller.poll(0)}
    return [sock for sock in sockets if sock.fileno() not in answered_or_closed]


def time_healthz(args):
    latencies = []
    for _ in range(args.probes):
        started = time.perf_counter()
        conn = http.client.HTTPConnection(
            args.host, args.port, timeout=10, source_address=("127.0.0.250", 0)
        )
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        latencies.append((time.perf_counter() - started) * 1000)
        conn.close()
        if status != 200:
            sys.exit(f"/healthz answered {status}")
    return latencies


def main():
    args = parse_args()
    raise_open_file_limit(args.connections + 256)
    started = time.monotonic()
    held, failed = open_slow_connections(args)
    opened_in = time.monotonic() - started
    open_at_probe = len(still_open(held))
    latencies = time_healthz(args)
    time.sleep(args.hold)
    open_after_hold = len(still_open(held))
    for sock in held:
        sock.close()
    latencies.sort()
    print(f"slow connections attempted: {args.connections} from {args.sources} source addresses")
    print(f"connected: {len(held)} (failed to connect: {failed}) in {opened_in:.1f} s")
    print(f"held open by the server when probing: {open_at_probe}")
    print(f"held open {args.hold:.0f} s after probing: {open_after_hold}")
    print(
        f"/healthz x{len(latencies)}: median {statistics.median(latencies):.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms, max {latencies[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
