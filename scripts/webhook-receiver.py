#!/usr/bin/env python3
"""A fast webhook receiver for load runs: answers every POST with 204 and
appends "webhook-id arrival_ms event_timestamp_ms" per request to a file.
Usage: scripts/webhook-receiver.py PORT OUTPUT_FILE"""
import asyncio
import datetime
import json
import sys
import time

port, output = int(sys.argv[1]), sys.argv[2]
log = open(output, "a", buffering=1 << 16)


def event_ms(body):
    stamp = json.loads(body)["timestamp"].replace("Z", "+00:00")
    return int(datetime.datetime.fromisoformat(stamp).timestamp() * 1000)


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:])}
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            now = int(time.time() * 1000)
            log.write(f"{headers.get('webhook-id', '-')} {now} {event_ms(body)}\n")
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")


async def main():
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port)
    async with server:
        while True:
            await asyncio.sleep(0.2)
            log.flush()


asyncio.run(main())
