"""What each heartbeat needs, read once per beat for every socket of this process.

A beat reads the newest stream position of every connected user (so a client that missed a
push sees it is behind and syncs), which of them are still active, and which of the sessions
sockets were opened with still exist (so a deactivated user or an ended session loses its
sockets). A few queries per beat per process, however many sockets are open, and one task:
the beat loop hands the Beat to each socket, which holds no task of its own while idle.
"""

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from notifications import selectors
from notifications.stream.positions import Position

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    positions: dict[int, Position] = field(default_factory=dict)
    active_users: frozenset[int] = frozenset()
    live_sessions: frozenset[str] = frozenset()
    # False when the database could not be read: nothing is judged on this beat.
    complete: bool = False


@dataclass(frozen=True)
class ReadyState:
    """What a socket's ready frame carries: the user's counts and newest position."""

    counts: dict[str, Any]
    last_id: Position


class Listener(Protocol):
    """A connected socket, as the beat loop sees it."""

    user_id: int
    session_key: str | None

    async def on_beat(self, beat: Beat) -> None: ...


class StreamPositions:
    """Reads a Beat every NOTIFICATIONS_HEARTBEAT_SECONDS and hands it to every socket."""

    def __init__(self) -> None:
        self.sockets: dict[Listener, None] = {}
        self.users: Counter[int] = Counter()
        self.sessions: Counter[str] = Counter()
        self.task: asyncio.Task[None] | None = None
        self.waiting_ready: dict[int, list[asyncio.Future[ReadyState]]] = {}
        self.reading_ready: asyncio.Task[None] | None = None

    async def ready_state(self, user_id: int) -> ReadyState:
        """The user's ready state, read together with that of every socket opening meanwhile.

        When many clients reconnect at once (a deploy, a network blip), each socket would
        otherwise make its own queries on the one thread Channels runs database calls on.
        Here a socket waits for the read in flight, if any, and the sockets that arrived
        meanwhile are read together by the next: a few queries for a batch, not per socket.
        A socket alone waits for nothing.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ReadyState] = loop.create_future()
        self.waiting_ready.setdefault(user_id, []).append(future)
        if self.reading_ready is None or self.reading_ready.done():
            self.reading_ready = loop.create_task(self.read_ready_states())
        return await future

    async def read_ready_states(self) -> None:
        while self.waiting_ready:
            # Requests made from here on wait for the next read: it starts after they joined
            # their groups, so no event between the two is missed.
            batch, self.waiting_ready = self.waiting_ready, {}
            try:
                states = await read_ready(list(batch))
            except Exception as error:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for user_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(states[user_id])

    def join(self, socket: Listener) -> None:
        self.sockets[socket] = None
        self.users[socket.user_id] += 1
        if socket.session_key:
            self.sessions[socket.session_key] += 1
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def leave(self, socket: Listener) -> None:
        if socket not in self.sockets:
            return
        del self.sockets[socket]
        self.users[socket.user_id] -= 1
        if self.users[socket.user_id] <= 0:
            del self.users[socket.user_id]
        if socket.session_key:
            self.sessions[socket.session_key] -= 1
            if self.sessions[socket.session_key] <= 0:
                del self.sessions[socket.session_key]

    def connected(self) -> int:
        """How many sockets of this process are registered, for the per-user cap."""
        return len(self.sockets)

    def sockets_of(self, user_id: int) -> int:
        return self.users.get(user_id, 0)

    async def run(self) -> None:
        while self.sockets:
            await asyncio.sleep(settings.NOTIFICATIONS_HEARTBEAT_SECONDS)
            try:
                beat = await read_beat(list(self.users), list(self.sessions))
            except Exception:
                logger.warning("Heartbeat could not read the database; beating without it")
                beat = Beat()
            # A socket that closes during the beat leaves the dict: iterate over a copy.
            for socket in list(self.sockets):
                if socket not in self.sockets:
                    continue
                try:
                    await socket.on_beat(beat)
                except Exception:
                    logger.exception("A socket failed on its heartbeat")


@database_sync_to_async
def read_beat(user_ids: list[int], session_keys: list[str]) -> Beat:
    return Beat(
        positions=selectors.latest_positions(user_ids),
        active_users=frozenset(selectors.active_user_ids(user_ids)),
        live_sessions=frozenset(selectors.live_session_keys(session_keys)),
        complete=True,
    )


@database_sync_to_async
def read_ready(user_ids: list[int]) -> dict[int, ReadyState]:
    # Positions first: an event that commits between the two reads is then after the ready
    # position, and its frame, which carries the counts, follows.
    last_ids = selectors.latest_positions(user_ids)
    counts = selectors.counts_for_users(user_ids)
    return {user_id: ReadyState(counts[user_id], last_ids[user_id]) for user_id in user_ids}


_positions: dict[int, StreamPositions] = {}


def for_this_loop() -> StreamPositions:
    """The positions of the running event loop: one per server process (and per test loop)."""
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _positions:
        _positions.clear()
        _positions[loop_id] = StreamPositions()
    return _positions[loop_id]
