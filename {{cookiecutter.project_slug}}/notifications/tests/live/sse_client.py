"""An HTTP/1.1 client of the event stream: reads each message as it arrives, as EventSource does."""

import asyncio
import contextlib
import json
import socket
from typing import Any

from notifications.tests.live.conftest import PATIENCE
from notifications.tests.servers import HOST

PATH = "/api/notifications/stream/"


class StreamClosed(Exception):
    """The server ended the response or the connection."""


class LiveEventStream:
    """One GET of the stream on a raw connection; `next()` gives each message with data."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunked = False
        self.buffer = b""
        self.last_event_id: str | None = None

    @classmethod
    async def open(
        cls,
        port: int,
        token: str,
        *,
        last_event_id: str | None = None,
        query: str = "",
        receive_buffer: int | None = None,
    ) -> "LiveEventStream":
        """The response's head read; `receive_buffer` sets the kernel's, for a slow client."""
        sock = None
        if receive_buffer is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
        connecting = (
            asyncio.open_connection(sock=sock) if sock else asyncio.open_connection(HOST, port)
        )
        reader, writer = await asyncio.wait_for(connecting, PATIENCE)
        stream = cls(reader, writer)
        lines = [
            f"GET {PATH}{'?' + query if query else ''} HTTP/1.1",
            f"Host: {HOST}:{port}",
            "Accept: text/event-stream",
            f"Authorization: Bearer {token}",
        ]
        if last_event_id is not None:
            lines.append(f"Last-Event-ID: {last_event_id}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        stream.status = int(status_line.split()[1])
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                stream.headers[name.strip().lower()] = value.strip()
        stream.chunked = stream.headers.get("transfer-encoding", "").lower() == "chunked"
        return stream

    async def read_more(self) -> None:
        if self.chunked:
            size = int((await self.reader.readuntil(b"\r\n")).strip() or b"0", 16)
            if size == 0:
                raise StreamClosed
            data = await self.reader.readexactly(size + 2)
            self.buffer += data[:-2]
            return
        data = await self.reader.read(65536)
        if not data:
            raise StreamClosed
        self.buffer += data

    async def block(self) -> str:
        """The next message or comment, raw, without the blank line that ends it."""
        while b"\n\n" not in self.buffer:
            try:
                await asyncio.wait_for(self.read_more(), PATIENCE)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                raise StreamClosed from error
        block, self.buffer = self.buffer.split(b"\n\n", 1)
        return block.decode()

    async def next(self) -> dict[str, Any]:
        """The next frame; its `id:` is kept in `last_event_id`, as EventSource keeps it."""
        while True:
            fields = dict(line.partition(": ")[::2] for line in (await self.block()).split("\n"))
            if "id" in fields:
                self.last_event_id = fields["id"]
            if "data" in fields:
                frame: dict[str, Any] = json.loads(fields["data"])
                frame["sse_id"] = fields.get("id")
                return frame

    async def until_synced(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The stream events before `synced`, and its payload."""
        replayed = []
        while (frame := await self.next())["event"] != "synced":
            if "id" in frame:
                replayed.append(frame)
        return replayed, frame["payload"]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
