"""What each heartbeat needs, read once per beat for every socket of this process.

A beat reads the newest stream position of every connected user (so a client that missed a
push sees it is behind and syncs), which of them are still active, and which of the sessions
sockets were opened with still exist (so a deactivated user or an ended session loses its
sockets). A few queries per beat per process, however many sockets are open.
"""

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings

from notifications import selectors

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    positions: dict[int, int] = field(default_factory=dict)
    active_users: frozenset[int] = frozenset()
    live_sessions: frozenset[str] = frozenset()
    # False when the database could not be read: nothing is judged on this beat.
    complete: bool = False


class StreamPositions:
    """Reads a Beat every NOTIFICATIONS_HEARTBEAT_SECONDS while any socket is connected."""

    def __init__(self) -> None:
        self.users: Counter[int] = Counter()
        self.sessions: Counter[str] = Counter()
        self.latest = Beat()
        self.beat = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None

    def join(self, user_id: int, session_key: str | None = None) -> None:
        self.users[user_id] += 1
        if session_key:
            self.sessions[session_key] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def leave(self, user_id: int, session_key: str | None = None) -> None:
        self.users[user_id] -= 1
        if self.users[user_id] <= 0:
            del self.users[user_id]
        if session_key:
            self.sessions[session_key] -= 1
            if self.sessions[session_key] <= 0:
                del self.sessions[session_key]

    def connected(self) -> int:
        """How many sockets of this process are registered, for the per-user cap."""
        return sum(self.users.values())

    def sockets_of(self, user_id: int) -> int:
        return self.users.get(user_id, 0)

    async def next_beat(self) -> Beat:
        async with self.beat:
            await self.beat.wait()
        return self.latest

    async def run(self) -> None:
        while self.users:
            await asyncio.sleep(settings.NOTIFICATIONS_HEARTBEAT_SECONDS)
            try:
                self.latest = await read_beat(list(self.users), list(self.sessions))
            except Exception:
                logger.warning("Heartbeat could not read the database; beating without it")
                self.latest = Beat()
            async with self.beat:
                self.beat.notify_all()


@database_sync_to_async
def read_beat(user_ids: list[int], session_keys: list[str]) -> Beat:
    return Beat(
        positions=selectors.latest_positions(user_ids),
        active_users=frozenset(selectors.active_user_ids(user_ids)),
        live_sessions=frozenset(selectors.live_session_keys(session_keys)),
        complete=True,
    )


_positions: dict[int, StreamPositions] = {}


def for_this_loop() -> StreamPositions:
    """The positions of the running event loop: one per server process (and per test loop)."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _positions:
        _positions.clear()
        _positions[loop_id] = StreamPositions()
    return _positions[loop_id]
