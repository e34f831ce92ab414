#!/usr/bin/env python3
"""Password-flood measurement against a local Tessera server (loopback only).

Sends many wrong HTTP Basic passwords to GET /api/v1/api-keys at once from
one address, and reports the answers (401 = a password really checked,
429 = throttled, 503 = every hashing slot taken) and the server's memory
growth (peak resident size, VmHWM, after minus resident size before).
Bounded: at most 5,000 requests, only towards 127.0.0.0/8.

    python3 scripts/password-flood.py --port 8080 --pid $(pgrep -n tessera) \
        --requests 1000 --usernames 1
"""

import argparse
import asyncio
import base64
import collections
import ipaddress
import resource
import sys
import time

MAX_REQUESTS = 5_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--usernames", type=int, default=1,
        help="distinct usernames guessed (1: one account; more: a spray)",
    )
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("refusing: this script only targets loopback addresses")
    if not 1 <= args.requests <= MAX_REQUESTS:
        sys.exit(f"--requests must be between 1 and {MAX_REQUESTS}")
    return args


def memory_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.split()[0] if value.split() else ""
    return int(fields["VmRSS"]), int(fields["VmHWM"]), int(fields["Threads"])


async def guess(args, n, start):
    username = f"flood-{n % args.usernames}" if args.usernames > 1 else "acme-admin"
    token = base64.b64encode(f"{username}:wrong-{n}".encode()).decode()
    reader, writer = await asyncio.open_connection(args.host, args.port)
    await start.wait()
    writer.write(
        f"GET /api/v1/api-keys HTTP/1.1\r\nHost: tessera\r\n"
        f"Authorization: Basic {token}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1]) if status_line else 0


async def flood(args):
    start = asyncio.Event()
    tasks = [asyncio.create_task(guess(args, n, start)) for n in range(args.requests)]
    await asyncio.sleep(0.5)
    started = time.monotonic()
    start.set()
    statuses = await asyncio.gather(*tasks)
    return statuses, time.monotonic() - started


def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, args.requests + 256), hard), hard))
    rss_before, hwm_before, threads_before = memory_kib(args.pid)
    statuses, seconds = asyncio.run(flood(args))
    rss_after, hwm_after, threads_after = memory_kib(args.pid)
    counts = dict(sorted(collections.Counter(statuses).items()))
    print(f"{args.requests} concurrent wrong passwords, {args.usernames} username(s), one address")
    print(f"answers: {counts} in {seconds:.1f} s")
    print(f"server before: VmRSS {rss_before} kB, VmHWM {hwm_before} kB, threads {threads_before}")
    print(f"server after:  VmRSS {rss_after} kB, VmHWM {hwm_after} kB, threads {threads_after}")
    print(f"peak growth: {(hwm_after - rss_before) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
