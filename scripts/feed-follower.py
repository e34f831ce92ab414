#!/usr/bin/env python3
"""Events feed measurements on loopback (docs/performance.md, "Events feed").

lag PORT KEY RATE SECONDS
    Writers create employees at RATE per second for SECONDS while a follower
    reads the feed (pages of 200, polling every 5 ms when it has caught up).
    Prints the write rate reached and the lag of each event: the time the
    follower received it minus the event's created_at.

pages PORT KEY PAGES
    Follows the feed from its start in pages of 200 and prints the latency
    of each request (p50, p99, max).
Only the standard library; times in milliseconds.
"""
import http.client
import json
import sys
import threading
import time
from datetime import datetime


def created_ms(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def feed_page(conn, key, cursor):
    path = "/api/v1/events?limit=200" + (f"&after={cursor}" if cursor else "")
    conn.request("GET", path, headers={"X-API-KEY": key})
    answer = conn.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise SystemExit(f"feed answered {answer.status}: {body[:300]!r}")
    return json.loads(body)


def lag(port, key, rate, seconds):
    writers = 8
    done = threading.Event()
    written = [0] * writers

    def write(index):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"X-API-KEY": key, "Content-Type": "application/json"}
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            due = start + (n * writers + index) / rate
            time.sleep(max(0.0, due - time.monotonic()))
            body = json.dumps({"first_name": "Lag", "last_name": f"{index}-{n}"})
            conn.request("POST", "/api/v1/employees", body, headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status != 201:
                raise SystemExit(f"create answered {answer.status}")
            n += 1
        written[index] = n

    conn = http.client.HTTPConnection("127.0.0.1", port)
    cursor = feed_page(conn, key, "now")["next_cursor"]
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    lags = []
    while True:
        writing = any(t.is_alive() for t in threads)
        page = feed_page(conn, key, cursor)
        now = time.time() * 1000
        lags.extend(now - created_ms(e["created_at"]) for e in page["data"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            if not writing:
                break
            time.sleep(0.005)
    elapsed = time.monotonic() - started
    total = sum(written)
    print(f"writes: {total} in {elapsed:.1f} s = {total / elapsed:.0f}/s (asked {rate}/s); "
          f"events seen {len(lags)}")
    print(f"lag: p50 {percentile(lags, 0.5):.0f} ms, p99 {percentile(lags, 0.99):.0f} ms, "
          f"max {max(lags):.0f} ms")


def pages(port, key, count):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    cursor = None
    times = []
    events = 0
    for _ in range(count):
        started = time.perf_counter()
        page = feed_page(conn, key, cursor)
        times.append((time.perf_counter() - started) * 1000)
        events += len(page["data"])
        cursor = page["next_cursor"]
    print(f"pages of 200: {count} requests, {events} events, p50 {percentile(times, 0.5):.1f} ms, "
          f"p99 {percentile(times, 0.99):.1f} ms, max {max(times):.1f} ms")


if __name__ == "__main__":
    mode, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "lag":
        lag(port, key, int(sys.argv[4]), int(sys.argv[5]))
    else:
        pages(port, key, int(sys.argv[4]))
