"""A WebSocket client process for the real-time benchmarks: many sockets, frames counted by id.

    python bench/ws_clients.py < commands

Reads one JSON line from stdin: {"urls": [...], "origin": "...", "concurrency": 100}, opens
one socket per URL (at most `concurrency` handshakes at a time), then prints
{"connected": n, "failed": m, "seconds": s}. After that it answers one line per command:

- `status`: totals so far, {"created": n, "broadcast": n, "heartbeat": n, "last": t}
- `stop`: closes every socket and prints everything it saw, then exits:
  {"sockets": [{"created": [[id, t], ...], "broadcast": [[id, t], ...], "heartbeat": n}],
   "cpu_s": ..., "closed_early": n}

Times are time.monotonic() (CLOCK_MONOTONIC, the same clock in every process of the machine).
Only `created` and `broadcast` frames are parsed beyond their event name.
"""

import asyncio
import json
import resource
import sys
import time
from urllib.parse import urlsplit

from websockets.asyncio.client import connect


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Socket:
    __slots__ = ("broadcast", "closed", "connection", "created", "heartbeat")

    def __init__(self) -> None:
        self.connection = None
        self.created: list[tuple[int, float]] = []
        self.broadcast: list[tuple[int, float]] = []
        self.heartbeat = 0
        self.closed = False

    async def read(self) -> None:
        clock = time.monotonic
        try:
            async for message in self.connection:
                now = clock()
                # Cheap test first: most frames are one of these two.
                if '"created"' in message or '"broadcast"' in message:
                    frame = json.loads(message)
                    event = frame.get("event")
                    if event == "created":
                        self.created.append((frame["payload"]["notification"]["id"], now))
                    elif event == "broadcast":
                        self.broadcast.append((frame["payload"]["broadcast"]["id"], now))
                elif '"heartbeat"' in message:
                    self.heartbeat += 1
        except Exception:
            pass
        self.closed = True


class Totals:
    def __init__(self, sockets: list[Socket]) -> None:
        self.sockets = sockets

    def status(self) -> dict:
        last = 0.0
        for socket in self.sockets:
            for frames in (socket.created, socket.broadcast):
                if frames and frames[-1][1] > last:
                    last = frames[-1][1]
        return {
            "created": sum(len(socket.created) for socket in self.sockets),
            "broadcast": sum(len(socket.broadcast) for socket in self.sockets),
            "heartbeat": sum(socket.heartbeat for socket in self.sockets),
            "closed": sum(socket.closed for socket in self.sockets),
            "last": last,
        }


async def open_all(config: dict) -> tuple[list[Socket], int, list[asyncio.Task]]:
    gate = asyncio.Semaphore(config.get("concurrency", 100))
    sockets = [Socket() for _ in config["urls"]]
    tasks: list[asyncio.Task] = []
    failed = 0

    async def open_one(socket: Socket, url: str) -> None:
        nonlocal failed
        async with gate:
            for attempt in range(5):
                try:
                    socket.connection = await connect(
                        url,
                        # The page's origin is the server's own: each URL's scheme, host, port.
                        origin=config["origin"] or origin_of(url),
                        compression=None,
                        ping_interval=None,
                        max_queue=None,
                        open_timeout=60,
                    )
                    break
                except Exception:
                    await asyncio.sleep(0.2 * (attempt + 1))
            else:
                failed += 1
                socket.closed = True
                return
        tasks.append(asyncio.create_task(socket.read()))

    await asyncio.gather(
        *(open_one(socket, url) for socket, url in zip(sockets, config["urls"], strict=True))
    )
    return sockets, failed, tasks


async def main() -> None:
    raise_open_files()
    loop = asyncio.get_running_loop()
    # The config line holds every URL (with its token): far past the default 64 KiB limit.
    reader = asyncio.StreamReader(limit=1 << 28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    start = time.monotonic()
    sockets, failed, tasks = await open_all(config)
    # Let each socket read its first frames (ready) before the caller starts measuring.
    await asyncio.sleep(0.5)
    say({"connected": len(sockets) - failed, "failed": failed, "seconds": time.monotonic() - start})
    totals = Totals(sockets)
    while line := (await reader.readline()).decode().strip():
        if line == "status":
            say(totals.status())
        elif line == "stop":
            break
    closed_early = sum(socket.closed for socket in sockets) - failed
    await asyncio.gather(
        *(socket.connection.close() for socket in sockets if socket.connection is not None),
        return_exceptions=True,
    )
    for task in tasks:
        task.cancel()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    say(
        {
            "sockets": [
                {"created": s.created, "broadcast": s.broadcast, "heartbeat": s.heartbeat}
                for s in sockets
            ],
            "closed_early": closed_early,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }
    )


def say(data: dict) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def origin_of(url: str) -> str:
    """http(s)://host:port of a ws(s):// URL, as a browser page on that server would send."""
    parts = urlsplit(url)
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"


if __name__ == "__main__":
    asyncio.run(main())
