"""Live events in stream order for the socket and the SSE stream: held until they are next,
gaps filled from the database, and the connection's part of the heartbeat."""

import asyncio
import logging
import time
from typing import Any

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from django.conf import settings

from notifications import selectors
from notifications.serializers import Frame, dumps, event_frame, within_bytes
from notifications.stream import beats, events
from notifications.stream.positions import Position

logger = logging.getLogger(__name__)

# Live events a connection keeps while it waits for a missing one; past it, it reads the
# database instead of holding more.
MAX_HELD_EVENTS = 1000


class HeldEvents:
    """Published events by stream and position, handed out in order from a client's position.

    Pushes from two server processes can cross in Redis, and pushes keep coming while a
    replay runs: each is kept here until every event before it in its stream was sent, and
    one at or below the client's position (sent already, by a replay) is dropped. So a
    connection sends in order, with no gap and never twice, whatever order pushes arrive in.
    """

    def __init__(self) -> None:
        self.held: dict[str, dict[int, dict[str, Any]]] = {events.OWN: {}, events.EVERYONE: {}}

    def hold(self, message: dict[str, Any]) -> None:
        kept = self.held[message["stream"]]
        if len(kept) >= MAX_HELD_EVENTS:
            # A gap this long will be read from the database anyway: keep memory bounded.
            kept.clear()
        kept[message["position"]] = message

    def next_after(self, position: Position) -> dict[str, Any] | None:
        """The held event that comes right after `position` in its stream, taken out."""
        for stream, kept in self.held.items():
            sent = position.own if stream == events.OWN else position.everyone
            for stale in [place for place in kept if place <= sent]:
                del kept[stale]
            message = kept.pop(sent + 1, None)
            if message is not None:
                return message
        return None

    def waiting(self) -> bool:
        """True when some event is held behind a gap: its missing predecessor never came."""
        return any(self.held.values())


class StreamFollower(AsyncConsumer):
    """What the socket and the SSE stream share: one user's events, in order, never twice.

    A connection joins the user's group and the broadcast group; each push goes through
    HeldEvents and is sent when it is next in its stream. A gap that no push fills within
    NOTIFICATIONS_GAP_WAIT_SECONDS, or a heartbeat that shows a newer position, is read from
    the database (a catch-up). The subclass says how a frame goes out (`send_live`), what a
    catch-up sends (`send_caught_up`), how the connection ends (`stop`) and what a heartbeat
    looks like (`send_heartbeat`).
    """

    # Set once the user is let in.
    user_id: int
    # The position of the newest event sent, in each stream. Every event frame carries the
    # position after it, so it is always a safe place to resume.
    position: Position = Position()
    # The counts of the newest frame (JSON text), which broadcast frames are completed with.
    counts_text: str = "{}"
    # Live events are held, not sent, while a replay runs.
    replaying = False
    # Made on the first replay or catch-up only: most connections never need one.
    replaying_lock: asyncio.Lock | None = None
    # Fills a gap from the database when the missing push has not come by then.
    gap_timer: asyncio.TimerHandle | None = None
    # Ends the connection when its access token expires.
    expiry: asyncio.TimerHandle | None = None
    # The session a session-authenticated connection was opened with (it ends with it), and
    # its tag as events.end_sockets names it.
    session_key: str | None = None
    session_tag: str | None = None
    # True while the connection is in this process's heartbeat.
    registered = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.joined: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.held = HeldEvents()

    # What the subclass provides -------------------------------------------------------------

    def delivering(self) -> bool:
        """False once the connection can no longer send (a finished response)."""
        return True

    async def send_live(self, text: str) -> None:
        raise NotImplementedError

    async def stop(self, code: str, message: str) -> None:
        """End the connection, saying why."""
        raise NotImplementedError

    async def send_heartbeat(self) -> None:
        raise NotImplementedError

    async def send_caught_up(self, replay: selectors.Replay) -> None:
        """Send what a catch-up read; a position too old to replay is announced."""
        raise NotImplementedError

    # Live events ---------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == events.HANDLER_TYPE:
            # channels runs close_old_connections before every handler, in the one thread the
            # ORM uses; a push reads no rows, and must not wait there behind other sockets'
            # queries. (database_sync_to_async closes stale connections on its own.)
            await self.notify_event(message)
            return
        await super().dispatch(message)

    async def notify_event(self, message: dict[str, Any]) -> None:
        """An event published to one of this connection's groups (events.HANDLER_TYPE).

        Sent when it is the next of its stream; kept when it arrived early, dropped when it
        was sent already (by a replay): in order, with no gap, never twice.
        """
        self.held.hold(message)
        if not self.replaying and self.delivering():
            await self.release_held()

    async def release_held(self) -> None:
        """Send every held event that is next in its stream; wait for the database on a gap."""
        self.replaying = False
        while self.delivering() and (message := self.held.next_after(self.position)) is not None:
            if not await self.send_event(message):
                return
        waiting = self.delivering() and self.held.waiting()
        if waiting and self.gap_timer is None:
            delay = settings.NOTIFICATIONS_GAP_WAIT_SECONDS
            self.gap_timer = asyncio.get_running_loop().call_later(delay, self.gap_timed_out)
        elif not waiting and self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None

    async def send_event(self, message: dict[str, Any]) -> bool:
        """Send one live event; False when it ended the connection."""
        if message["stream"] == events.OWN:
            self.position = Position(message["position"], self.position.everyone)
            self.counts_text = message["counts"]
        else:
            self.position = Position(self.position.own, message["position"])
        await self.send_live(events.frame_text(message, str(self.position), self.counts_text))
        revoke = message.get("revoke")
        if revoke is not None and revoke.get("session") in (None, self.session_tag):
            await self.stop("session_ended", "Signed out; sign in again.")
            return False
        return True

    # Catch-up ------------------------------------------------------------------------------

    def gap_timed_out(self) -> None:
        self.gap_timer = None
        self.start_catch_up()

    def start_catch_up(self) -> None:
        """Run catch_up beside the connection's dispatch; finished tasks are dropped first."""
        self.tasks = [task for task in self.tasks if not task.done()]
        self.tasks.append(asyncio.ensure_future(self.catch_up()))

    async def catch_up(self) -> None:
        """Send what the stream holds past this position: a push that never came."""
        if self.replaying or not self.registered:
            return
        async with self.replay_lock():
            self.replaying = True
            try:
                replay = await self.read_replay(self.position)
                await self.send_caught_up(replay)
            except Exception:
                logger.warning("%s could not fill a gap from the database", type(self).__name__)
            finally:
                await self.release_held()

    def replay_lock(self) -> asyncio.Lock:
        """Keeps a client's resume and a catch-up from interleaving their frames."""
        if self.replaying_lock is None:
            self.replaying_lock = asyncio.Lock()
        return self.replaying_lock

    async def replay_frames(self, replay: selectors.Replay) -> tuple[list[Frame], bool]:
        """A replay's event frames and whether it recovered; the position moves past it.

        A replay too large to send at once sends nothing and is not recovered: like a gap
        past the cap, the client reloads over REST.
        """
        counts = await self.read_counts() if replay.events else None
        frames = [
            event_frame(str(after), row.kind, row.payload, counts) for row, after in replay.events
        ]
        recovered = replay.recovered
        if len(within_bytes(frames, settings.NOTIFICATIONS_MAX_REPLAY_BYTES)) < len(frames):
            frames, recovered = [], False
        if counts is not None:
            self.counts_text = dumps(counts)
        self.position = self.position.merged(replay.position)
        return frames, recovered

    # Heartbeat and lifetime ----------------------------------------------------------------

    async def on_beat(self, beat: beats.Beat) -> None:
        """Beat with the newest position; end if the user or the session is gone."""
        if beat.complete and self.user_id not in beat.active_users:
            await self.stop("account_inactive", "The account is inactive.")
            return
        if beat.complete and self.session_key and self.session_key not in beat.live_sessions:
            await self.stop("session_ended", "Signed out; sign in again.")
            return
        newest = beat.positions.get(self.user_id)
        if newest is not None and not self.position.covers(newest) and self.gap_timer is None:
            # A push this connection should have had never came (Redis lost it): fetch it.
            self.start_catch_up()
        await self.send_heartbeat()

    def end_at(self, expires_at: float | None) -> None:
        """End the connection when its access token expires (a Unix time), if it does."""
        if expires_at is not None:
            # A timer, not a task: an idle connection holds as little memory as it can.
            delay = max(0.0, expires_at - time.time())
            self.expiry = asyncio.get_running_loop().call_later(delay, self.token_expired)

    def token_expired(self) -> None:
        self.expiry = None
        self.tasks.append(
            asyncio.ensure_future(self.stop("token_expired", "Access token expired."))
        )

    async def join_groups(self, groups: list[str]) -> bool:
        """Join every group, or say why not: a connection that misses pushes must not stay."""
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
        except Exception:
            logger.warning("Joining %s failed; the client is asked to retry", groups)
            return False
        return True

    async def release(self) -> None:
        """Stop the timers and tasks, leave the heartbeat and the groups; safe to call again."""
        for timer in (self.expiry, self.gap_timer):
            if timer is not None:
                timer.cancel()
        self.expiry = self.gap_timer = None
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.tasks = []
        if self.registered:
            self.registered = False
            beats.for_this_loop().leave(self)
        for group in self.joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("Leaving %s failed; the layer drops it on reconnect", group)
        self.joined = []

    # Database ------------------------------------------------------------------------------

    @database_sync_to_async
    def read_replay(self, since: Position) -> selectors.Replay:
        return selectors.events_after(
            self.user_id, since, limit=settings.NOTIFICATIONS_REPLAY_LIMIT
        )

    @database_sync_to_async
    def read_counts(self) -> dict[str, Any]:
        return selectors.counts(self.user_id)
