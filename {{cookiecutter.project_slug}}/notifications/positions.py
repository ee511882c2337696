"""The newest stream position of every user connected to this process, read once per beat.

Each socket's heartbeat carries its user's newest position, so a client that missed a push
(Redis was down, another process used the in-memory layer) sees it is behind and syncs. One
query per beat for the whole process, however many sockets are open.
"""

import asyncio
from collections import Counter

from channels.db import database_sync_to_async
from django.conf import settings

from notifications import selectors


class StreamPositions:
    """Reads the positions of the connected users every beat, while anyone is connected."""

    def __init__(self) -> None:
        self.users: Counter[int] = Counter()
        self.latest: dict[int, int] = {}
        self.beat = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None

    def join(self, user_id: int) -> None:
        self.users[user_id] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def leave(self, user_id: int) -> None:
        self.users[user_id] -= 1
        if self.users[user_id] <= 0:
            del self.users[user_id]
            self.latest.pop(user_id, None)

    async def next_beat(self, user_id: int) -> int | None:
        """Wait for the next beat; the user's newest position, None if it could not be read."""
        async with self.beat:
            await self.beat.wait()
        return self.latest.get(user_id)

    async def run(self) -> None:
        while self.users:
            await asyncio.sleep(settings.NOTIFICATIONS_HEARTBEAT_SECONDS)
            try:
                self.latest = await read_positions(list(self.users))
            except Exception:
                # The database is down: the beat still goes out, without a position.
                self.latest = {}
            async with self.beat:
                self.beat.notify_all()


@database_sync_to_async
def read_positions(user_ids: list[int]) -> dict[int, int]:
    return selectors.latest_positions(user_ids)


_positions: dict[int, StreamPositions] = {}


def for_this_loop() -> StreamPositions:
    """The positions of the running event loop: one per server process (and per test loop)."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _positions:
        _positions.clear()
        _positions[loop_id] = StreamPositions()
    return _positions[loop_id]
