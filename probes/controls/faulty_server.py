"""Fault controls: servers that misbehave on purpose, to prove the harness never lies,
hangs or loses a result. Stdlib only; none of them calls the app, on purpose.

    never-ready             runs, but never listens
    exit-before-bind        exits with status 2 before listening
    crash-after-first       answers one request, then dies (status 1)
    ignore-sigterm          serves, and ignores SIGTERM
    garbage-observations    writes garbage and a truncated line into the observation file
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time

FAULTS = ("never-ready", "exit-before-bind", "crash-after-first", "ignore-sigterm",
          "garbage-observations")
RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n"
            b"connection: close\r\n\r\nok")


def log(line: str) -> None:
    print(f"faulty server: {line}", file=sys.stderr, flush=True)


async def serve(host: str, port: int, fault: str) -> None:
    answered = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
        writer.close()
        answered += 1
        if fault == "crash-after-first" and answered == 1:
            log("crashing after the first request, as asked")
            os._exit(1)

    server = await asyncio.start_server(handle, host, port)
    log(f"listening on http://{host}:{port} with fault {fault}")
    async with server:
        await server.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fault", choices=FAULTS, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", default="")  # accepted like any server's; never called
    args = parser.parse_args()
    if args.fault == "exit-before-bind":
        log("exiting before binding, as asked")
        return 2
    if args.fault == "never-ready":
        log("never listening, as asked")
        while True:
            time.sleep(3600)
    if args.fault == "ignore-sigterm":
        signal.signal(signal.SIGTERM, lambda *_: log("got SIGTERM and ignoring it, as asked"))
    if args.fault == "garbage-observations" and (path := os.environ.get("ASGI_MATRIX_OBS")):
        with open(path, "a") as handle:
            handle.write("this is not json\n[1, 2, 3]\n{\"event\": \"http\", \"pid\": 1, \"tr")
        log(f"wrote garbage into {path}, as asked")
    asyncio.run(serve(args.host, args.port, args.fault))
    return 0


if __name__ == "__main__":
    sys.exit(main())
