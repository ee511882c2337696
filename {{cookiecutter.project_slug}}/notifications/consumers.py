"""The notifications WebSocket: live events, replay from a stream position, client commands."""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import serializers as drf

from notifications import categories, selectors
from notifications.models import Broadcast, Notification
from notifications.serializers import (
    ArchiveCommand,
    EmptyCommand,
    Frame,
    ListCommand,
    MarkAllReadCommand,
    MarkReadCommand,
    MarkSeenCommand,
    NotificationSerializer,
    RunActionCommand,
    SnoozeCommand,
    SyncCommand,
    dumps,
    error_frame,
    event_frame,
    frame,
    reply_frame,
)
from notifications.services import NotificationService
from notifications.stream import beats, events
from notifications.stream.events import session_tag
from notifications.stream.ordering import HeldEvents
from notifications.stream.positions import InvalidPosition, Position
from notifications.websocket.auth import AUTH_ERROR, AUTH_METHOD, AUTH_UNAVAILABLE, EXPIRES_AT

logger = logging.getLogger(__name__)

# Close codes, all in the private 4000-4999 range (browsers and daphne refuse 1013 and 1011
# cannot be sent on purpose). The error frame before the close says why.
CLOSE_UNAUTHORIZED = 4401
# Sent by the server (`manage.py serve`), not this consumer: the client left too much unread.
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_MANY = 4429
CLOSE_TRY_AGAIN = 4503
# Largest client frame accepted; commands are tiny, so anything bigger is a mistake or abuse.
# daphne refuses larger frames before they are queued (`manage.py serve`).
MAX_FRAME_BYTES = 64 * 1024
# Bytes a reply frame keeps for its envelope around a `list` page: type, event, has_more and
# the request_id, which parse() bounds to MAX_REQUEST_ID_BYTES. The page gets the rest of
# NOTIFICATIONS_WS_MAX_MESSAGE_BYTES, which daphne will not exceed when sending (it closes the
# socket with 1011 instead).
REPLY_ENVELOPE_BYTES = 1024
# Longest request_id, as JSON: every reply echoes it, so it must not crowd out the reply.
MAX_REQUEST_ID_BYTES = 256
# Longest action name echoed in an `unknown_action` error.
MAX_ECHOED_ACTION = 50
# Commands refused in a row by the throttle before the socket is closed (CLOSE_TOO_MANY): a
# client that ignores `rate_limited` errors only fills the server's inbound queue.
MAX_REFUSED_IN_A_ROW = 100


class TokenBucket:
    """Allows `burst` commands at once and `rate` per second after that."""

    # One per socket: slots keep it to a few dozen bytes.
    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


class CommandError(Exception):
    """A client command that cannot run; becomes an error frame, the socket stays open."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Handler = Callable[["NotificationConsumer", dict[str, Any]], Awaitable[dict[str, Any] | None]]


class NotificationConsumer(AsyncWebsocketConsumer):
    """One user's socket: joins their group and the broadcast group, answers commands.

    It only talks to the channel layer and calls selectors and services: every rule lives
    there, so a command behaves exactly as the matching REST endpoint.
    """

    # Flood control per socket: sustained commands per second, and the burst allowed. A
    # command that reads many rows (`sync`, `list`) costs COMMAND_COSTS tokens instead of one.
    commands_per_second = 20.0
    command_burst = 40

    # Set in connect() once the user is let in; `registered` says whether that happened.
    user_id: int
    joined: list[str]
    tasks: list[asyncio.Task[None]]
    # Where the client stands: the position of the newest event sent, in each stream. Every
    # event frame carries the position after it, so it is always a safe place to resume.
    position: Position = Position()
    # The counts of the newest frame (JSON text), which broadcast frames are completed with.
    counts_text: str = "{}"
    # Live events that arrived ahead of their turn or while a replay runs.
    early: HeldEvents
    replaying = False
    # Made on the first replay or catch-up only: most sockets never need one.
    replaying_lock: asyncio.Lock | None = None
    # Fills a gap from the database when the missing push has not come by then.
    gap_timer: asyncio.TimerHandle | None = None
    # The session a session socket was opened with (closed when it ends), and its tag.
    session_key: str | None = None
    session_tag: str | None = None
    refused_in_a_row = 0
    registered = False
    # Closes the socket when its access token expires.
    expiry: asyncio.TimerHandle | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if "channel_name" in self.__dict__:
                raise
            # The channel layer could not open this socket's channel (Redis is down): without
            # it the socket would miss every push, so the client is asked to come back.
            logger.warning("Channel layer unavailable; socket refused with %d", CLOSE_TRY_AGAIN)
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": dumps(unavailable_frame())})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
        finally:
            # Whatever ended the socket, even a crash that skipped disconnect(): no heartbeat
            # or group membership outlives it.
            await self.release()

    async def dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] == events.HANDLER_TYPE:
            # channels runs close_old_connections before every handler, in the one thread the
            # ORM uses; a push reads no rows, and must not wait there behind other sockets'
            # queries. (database_sync_to_async closes stale connections on its own.)
            await self.notify_event(message)
            return
        await super().dispatch(message)

    async def connect(self) -> None:
        self.joined = []
        self.tasks = []
        user = self.scope.get("user")
        if self.scope.get(AUTH_UNAVAILABLE):
            await self.accept()
            await self.send_frame(unavailable_frame())
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        if user is None or not user.is_authenticated:
            await self.refuse(self.scope.get(AUTH_ERROR, "Authentication required."))
            return
        stream = beats.for_this_loop()
        if stream.sockets_of(user.pk) >= settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER:
            await self.accept()
            limit = settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER
            await self.send_frame(
                error_frame("too_many_sockets", f"At most {limit} open sockets per user.")
            )
            await self.close(code=CLOSE_TOO_MANY)
            return
        if self.scope.get(AUTH_METHOD) == "session":
            self.session_key = self.scope["session"].session_key
            self.session_tag = session_tag(self.session_key) if self.session_key else None
        self.early = HeldEvents()
        self.replaying = True
        if not await self.join_groups([events.user_group(user.pk), events.BROADCAST_GROUP]):
            await self.accept()
            await self.send_frame(unavailable_frame())
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.user_id = user.pk
        self.throttle = TokenBucket(self.commands_per_second, self.command_burst)
        await self.accept()
        try:
            await self.start_stream()
        except Exception:
            # The database is unreachable: the client retries, as for a Redis outage.
            logger.exception("Socket could not read its stream; the client is asked to retry")
            await self.send_frame(unavailable_frame())
            await self.close(code=CLOSE_TRY_AGAIN)
            return

        stream.join(self)
        self.registered = True
        expires_at = self.scope.get(EXPIRES_AT)
        if expires_at is not None:
            # A timer, not a task: an idle socket holds as little memory as it can.
            delay = max(0.0, expires_at - time.time())
            self.expiry = asyncio.get_running_loop().call_later(delay, self.token_expired)
        # From here on the socket uses `user_id` and `session_key`: the user and session
        # objects the middleware loaded are let go, a kilobyte or two per idle socket.
        self.scope.pop("user", None)
        self.scope.pop("session", None)

    async def start_stream(self) -> None:
        """The ready frame, then the replay from `?since=`, then the live events held meanwhile."""
        state = await beats.for_this_loop().ready_state(self.user_id)
        self.counts_text = dumps(state.counts)
        # Events up to `last_id` are in the ready state already: held ones are not sent again.
        self.position = state.last_id
        payload = {"user_id": self.user_id, "counts": state.counts, "last_id": str(state.last_id)}
        await self.send_frame(frame("connection", "ready", payload))
        since = self.query_param("since")
        if since is not None:
            await self.resume(since)
        await self.release_early()

    async def disconnect(self, code: int) -> None:
        await self.release()

    async def release(self) -> None:
        """Stop the socket's timers and leave its groups; safe to call more than once."""
        if self.expiry is not None:
            self.expiry.cancel()
            self.expiry = None
        if self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None
        for task in getattr(self, "tasks", []):
            task.cancel()
        self.tasks = []
        if getattr(self, "registered", False):
            self.registered = False
            beats.for_this_loop().leave(self)
        for group in getattr(self, "joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("Leaving %s failed; the layer drops it on reconnect", group)
        self.joined = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.registered:
            return
        request_id = None
        try:
            if text_data is None:
                raise CommandError("binary_not_supported", "Send commands as JSON text frames.")
            if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
                raise CommandError("too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
            command = self.parse(text_data)
            request_id = command.get("request_id")
            if not self.throttle.take(COMMAND_COSTS.get(command.get("action"), 1.0)):
                self.refused_in_a_row += 1
                if self.refused_in_a_row > MAX_REFUSED_IN_A_ROW:
                    await self.end("too_many_commands", "Too many commands.", CLOSE_TOO_MANY)
                    return
                raise CommandError("rate_limited", "Too many commands; slow down.")
            self.refused_in_a_row = 0
            await self.run(command, request_id)
        except CommandError as error:
            await self.send_frame(error_frame(error.code, error.message, request_id))
        except Exception:
            # A bug must not take the socket down with a 1011: log it and answer.
            logger.exception("Command failed")
            message = "The command failed; it was logged."
            await self.send_frame(error_frame("server_error", message, request_id))

    async def notify_event(self, message: dict[str, Any]) -> None:
        """An event published to one of this socket's groups (events.HANDLER_TYPE).

        Sent when it is the next of its stream; kept when it arrived early, dropped when it
        was sent already (by a replay): in order, with no gap, never twice.
        """
        self.early.hold(message)
        if not self.replaying:
            await self.release_early()

    async def release_early(self) -> None:
        """Send every kept event that is next in its stream; wait for the database on a gap."""
        self.replaying = False
        while (message := self.early.next_after(self.position)) is not None:
            if not await self.send_event(message):
                return
        waiting = self.early.waiting()
        if waiting and self.gap_timer is None:
            delay = settings.NOTIFICATIONS_GAP_WAIT_SECONDS
            self.gap_timer = asyncio.get_running_loop().call_later(delay, self.gap_timed_out)
        elif not waiting and self.gap_timer is not None:
            self.gap_timer.cancel()
            self.gap_timer = None

    def gap_timed_out(self) -> None:
        self.gap_timer = None
        self.start_catch_up()

    def start_catch_up(self) -> None:
        """Run catch_up beside the socket's dispatch; finished tasks are dropped first."""
        self.tasks = [task for task in self.tasks if not task.done()]
        self.tasks.append(asyncio.ensure_future(self.catch_up()))

    async def catch_up(self) -> None:
        """Send what the stream holds past this socket's position: a push that never came."""
        if self.replaying or not self.registered:
            return
        async with self.replay_lock():
            self.replaying = True
            try:
                replay = await self.read_replay(self.position)
                await self.send_replay(replay, request_id=None, announce=not replay.recovered)
            except Exception:
                logger.warning("Socket could not fill a gap from the database; it retries")
            finally:
                await self.release_early()

    def replay_lock(self) -> asyncio.Lock:
        """Keeps a client's `sync` and a catch-up from interleaving their frames."""
        if self.replaying_lock is None:
            self.replaying_lock = asyncio.Lock()
        return self.replaying_lock

    async def send_event(self, message: dict[str, Any]) -> bool:
        """Send one live event; False when it closed the socket."""
        revoke = message.get("revoke")
        if message["stream"] == events.OWN:
            self.position = Position(message["position"], self.position.everyone)
            self.counts_text = message["counts"]
        else:
            self.position = Position(self.position.own, message["position"])
        await self.send(text_data=events.frame_text(message, str(self.position), self.counts_text))
        if revoke is not None and revoke.get("session") in (None, self.session_tag):
            await self.end("session_ended", "Signed out; sign in again.", CLOSE_UNAUTHORIZED)
            return False
        return True

    # Commands ----------------------------------------------------------------------------

    async def run(self, command: dict[str, Any], request_id: Any) -> None:
        action = command.get("action")
        entry = COMMANDS.get(action) if isinstance(action, str) else None
        if entry is None:
            shown = action[:MAX_ECHOED_ACTION] if isinstance(action, str) else None
            raise CommandError("unknown_action", f"Unknown action {shown!r}.")
        schema, handler, reply = entry
        try:
            params = self.validate(schema, command)
        except CommandError as error:
            if action != "sync":
                raise
            # A resume always ends with `synced`, so a client never waits in replay mode.
            await self.send_frame(error_frame(error.code, error.message, request_id))
            await self.send_frame(synced_frame(recovered=False, count=0, request_id=request_id))
            return
        result = await handler(self, params)
        if result is not None:
            await self.send_frame(reply_frame(reply, result, request_id))

    async def do_ping(self, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def do_mark_read(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_mark_read(params["id"], params["category"])

    async def do_mark_all_read(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_mark_all_read(params["category"])

    async def do_mark_seen(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_mark_seen(params["up_to"])

    async def do_archive(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_archive(params["id"], archive=True)

    async def do_unarchive(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_archive(params["id"], archive=False)

    async def do_snooze(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_snooze(params["id"], params["until"])

    async def do_unsnooze(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_snooze(params["id"], None)

    async def do_run_action(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_action(params["id"], params["index"])

    async def do_archive_broadcast(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_archive_broadcast(params["id"], archive=True)

    async def do_unarchive_broadcast(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.run_archive_broadcast(params["id"], archive=False)

    async def do_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.list_page(params)

    async def do_sync(self, params: dict[str, Any]) -> None:
        # The reply is the replay itself and its `synced` frame, which carries request_id.
        await self.replay_from(params["since"], params.get("request_id"))

    async def resume(self, since: str) -> None:
        """The replay a socket opened with `?since=` asks for; always ends with `synced`."""
        try:
            position = self.validate(SyncCommand, {"since": since})["since"]
        except CommandError as error:
            await self.send_frame(error_frame(error.code, error.message))
            await self.send_frame(synced_frame(recovered=False, count=0))
            return
        await self.replay_from(position)

    async def replay_from(self, since: Position, request_id: Any = None) -> None:
        """Every event of the stream after `since`, oldest first, then `synced`.

        A position the server never handed out (ahead of the stream) gets an error frame and
        `synced` with `recovered: false`: the client reloads over REST and carries on.
        """
        async with self.replay_lock():
            self.replaying = True
            try:
                try:
                    replay = await self.read_replay(since)
                except InvalidPosition as error:
                    await self.send_frame(error_frame("invalid_params", str(error), request_id))
                    synced = synced_frame(recovered=False, count=0, request_id=request_id)
                    await self.send_frame(synced)
                    return
                await self.send_replay(replay, request_id=request_id, announce=True)
            finally:
                await self.release_early()

    async def send_replay(
        self, replay: selectors.Replay, *, request_id: Any, announce: bool
    ) -> None:
        """Send a replay's frames (or nothing, when too large to send), then maybe `synced`."""
        counts = await self.read_counts() if replay.events else None
        frames = [
            event_frame(str(after), row.kind, row.payload, counts) for row, after in replay.events
        ]
        recovered = replay.recovered
        if len(within_bytes(frames, settings.NOTIFICATIONS_MAX_REPLAY_BYTES)) < len(frames):
            # Too large to send at once: like a gap past the cap, the client reloads over REST.
            frames, recovered = [], False
        for missed in frames:
            await self.send_frame(missed)
        if counts is not None:
            self.counts_text = dumps(counts)
        self.position = self.position.merged(replay.position)
        if announce:
            await self.send_frame(
                synced_frame(recovered=recovered, count=len(frames), request_id=request_id)
            )

    # Database ----------------------------------------------------------------------------

    @database_sync_to_async
    def read_replay(self, since: Position) -> selectors.Replay:
        return selectors.events_after(
            self.user_id, since, limit=settings.NOTIFICATIONS_REPLAY_LIMIT
        )

    @database_sync_to_async
    def read_counts(self) -> dict[str, Any]:
        return selectors.counts(self.user_id)

    @database_sync_to_async
    def run_mark_read(self, notification_id: int, category: str | None) -> dict[str, Any]:
        try:
            NotificationService.mark_notification_read(notification_id, self.user_id, category)
        except (Notification.DoesNotExist, categories.UnknownCategory):
            raise CommandError("not_found", f"No notification {notification_id}.") from None
        return {"id": notification_id, "counts": selectors.counts(self.user_id)}

    @database_sync_to_async
    def run_mark_all_read(self, category: str | None) -> dict[str, Any]:
        try:
            with transaction.atomic():
                marked = NotificationService.mark_all_notifications_read(self.user_id, category)
                # "All" on a socket means everything the user sees, broadcasts included.
                read = NotificationService.mark_all_broadcasts_read(self.user_id, category)
        except categories.UnknownCategory as error:
            raise CommandError("invalid_params", str(error)) from None
        return {
            "marked": marked,
            "broadcasts_marked": read,
            "counts": selectors.counts(self.user_id),
        }

    @database_sync_to_async
    def run_mark_seen(self, up_to: int | None) -> dict[str, Any]:
        marked = NotificationService.mark_all_seen(self.user_id, up_to=up_to)
        return {"marked": marked, "counts": selectors.counts(self.user_id)}

    @database_sync_to_async
    def run_archive(self, notification_id: int, *, archive: bool) -> dict[str, Any]:
        change = (
            NotificationService.archive_notification
            if archive
            else NotificationService.unarchive_notification
        )
        try:
            change(notification_id, self.user_id)
        except Notification.DoesNotExist:
            raise CommandError("not_found", f"No notification {notification_id}.") from None
        return {"id": notification_id, "counts": selectors.counts(self.user_id)}

    @database_sync_to_async
    def run_snooze(self, notification_id: int, until: datetime | None) -> dict[str, Any]:
        """Snooze until `until`, or unsnooze when it is None."""
        try:
            if until is None:
                NotificationService.unsnooze_notification(notification_id, self.user_id)
            else:
                NotificationService.snooze_notification(notification_id, self.user_id, until)
        except Notification.DoesNotExist:
            raise CommandError("not_found", f"No notification {notification_id}.") from None
        except ValidationError as error:
            errors = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
            )
            raise CommandError("invalid_params", errors) from None
        return {"id": notification_id, "counts": selectors.counts(self.user_id)}

    @database_sync_to_async
    def run_action(self, notification_id: int, index: int) -> dict[str, Any]:
        try:
            return NotificationService.run_action(notification_id, self.user_id, index)
        except Notification.DoesNotExist:
            raise CommandError("not_found", f"No notification {notification_id}.") from None
        except ValidationError as error:
            raise CommandError("invalid_params", " ".join(error.messages)) from None

    @database_sync_to_async
    def run_archive_broadcast(self, broadcast_id: int, *, archive: bool) -> dict[str, Any]:
        change = (
            NotificationService.archive_broadcast
            if archive
            else NotificationService.unarchive_broadcast
        )
        try:
            change(broadcast_id, self.user_id)
        except Broadcast.DoesNotExist:
            raise CommandError("not_found", f"No broadcast {broadcast_id}.") from None
        unread = selectors.broadcast_unread_count(self.user_id)
        return {"id": broadcast_id, "broadcast_unread_count": unread}

    @database_sync_to_async
    def list_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of the inbox, newest first; `before` is the last id of the previous page.

        The page holds at most `limit` notifications and as many as fit one frame: `has_more`
        says some were left out, and the next page starts before the last id returned.
        """
        queryset = selectors.notifications_for(
            self.user_id,
            category=params.get("category"),
            unread=params.get("unread"),
            archived=params.get("archived", False),
            snoozed=params.get("snoozed", False),
        )
        if params.get("before") is not None:
            queryset = queryset.filter(id__lt=params["before"])
        limit = params["limit"]
        rows = list(queryset[: limit + 1])
        serializer = NotificationSerializer()
        # A generator: rows past the budget are never serialised.
        page = within_bytes(
            (serializer.to_representation(row) for row in rows[:limit]),
            settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES - REPLY_ENVELOPE_BYTES,
        )
        if rows and not page:
            # Only a row stored around the service's limits (notifications/sending/limits.py) is this
            # large: say which, so the client can read it over REST and list past it.
            raise CommandError(
                "too_large",
                f"Notification {rows[0].pk} is larger than a frame; read it over REST and "
                f"list from before={rows[0].pk}.",
            )
        return {"notifications": page, "has_more": len(rows) > len(page)}

    # Plumbing ----------------------------------------------------------------------------

    async def refuse(self, reason: str) -> None:
        """Accept, say why, close with 4401: the client can show the reason and re-authenticate."""
        await self.accept()
        await self.send_frame(error_frame("unauthorized", reason))
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def join_groups(self, groups: list[str]) -> bool:
        """Join every group, or say why not: a socket that misses pushes must not stay open."""
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
        except Exception:
            logger.warning("Joining %s failed; the client is asked to retry", groups)
            return False
        return True

    async def on_beat(self, beat: beats.Beat) -> None:
        """Beat with the newest position; close if the user or the session is gone."""
        if beat.complete and self.user_id not in beat.active_users:
            await self.end("account_inactive", "The account is inactive.", CLOSE_UNAUTHORIZED)
            return
        if beat.complete and self.session_key and self.session_key not in beat.live_sessions:
            await self.end("session_ended", "Signed out; sign in again.", CLOSE_UNAUTHORIZED)
            return
        newest = beat.positions.get(self.user_id)
        if newest is not None and not self.position.covers(newest) and self.gap_timer is None:
            # A push this socket should have had never came (Redis lost it): fetch it.
            self.start_catch_up()
        await self.send_frame(frame("connection", "heartbeat", {"last_id": str(self.position)}))

    async def end(self, code: str, message: str, close_code: int) -> None:
        """Say why, then close: the error frame carries the reason daphne cannot send."""
        await self.send_frame(error_frame(code, message))
        await self.close(code=close_code)

    def token_expired(self) -> None:
        self.expiry = None
        closing = self.end("token_expired", "Access token expired.", CLOSE_UNAUTHORIZED)
        self.tasks.append(asyncio.ensure_future(closing))

    async def send_frame(self, value: Frame) -> None:
        text = dumps(value)
        # ASCII (dumps escapes the rest), so characters are bytes.
        if len(text) > settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES:
            # daphne would close the socket with 1011 instead of sending it, and a resume
            # would meet the same frame again: the client is told instead, and it is logged.
            logger.error("A %s frame of %d bytes was not sent", value.get("event"), len(text))
            limit = settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES
            request_id = value.get("payload", {}).get("request_id")
            message = f"A frame over {limit} bytes was not sent; read over REST."
            text = dumps(error_frame("too_large", message, request_id))
        await self.send(text_data=text)

    def query_param(self, name: str) -> str | None:
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get(name)
        return values[-1] if values else None

    @staticmethod
    def parse(text_data: str) -> dict[str, Any]:
        try:
            command = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: nesting deeper than the parser's stack, e.g. "[" * 20000.
            raise CommandError("invalid_json", "Frames must be JSON.") from None
        if not isinstance(command, dict):
            raise CommandError("invalid_json", "Frames must be a JSON object.")
        if len(dumps(command.get("request_id"))) > MAX_REQUEST_ID_BYTES:
            raise CommandError(
                "invalid_params", f"request_id: at most {MAX_REQUEST_ID_BYTES} bytes as JSON."
            )
        return command

    @staticmethod
    def validate(schema: type[drf.Serializer], data: dict[str, Any]) -> dict[str, Any]:
        serializer = schema(data=data)
        if not serializer.is_valid():
            errors = "; ".join(
                f"{field}: {' '.join(str(message) for message in messages)}"
                for field, messages in serializer.errors.items()
            )
            raise CommandError("invalid_params", errors)
        return {**serializer.validated_data, "request_id": data.get("request_id")}


def within_bytes(items: Iterable[Any], budget: int) -> list[Any]:
    """The longest prefix of `items` whose JSON list fits in `budget` bytes."""
    # The opening bracket, then each item with the comma or closing bracket after it.
    kept, used = [], 1
    for item in items:
        used += len(dumps(item).encode()) + 1
        if used > budget:
            break
        kept.append(item)
    return kept


def synced_frame(*, recovered: bool, count: int, request_id: Any = None) -> Frame:
    payload: dict[str, Any] = {"recovered": recovered, "count": count}
    if request_id is not None:
        payload["request_id"] = request_id
    return frame("connection", "synced", payload)


def unavailable_frame() -> Frame:
    return error_frame("unavailable", "The server cannot deliver notifications now; retry.")


# Tokens a command takes from the throttle: a replay or a page reads and sends many rows.
COMMAND_COSTS: dict[Any, float] = {"sync": 10.0, "list": 5.0}

# The dispatch table: each action, the schema of its parameters, the method that runs it and
# the `event` of its reply frame.
COMMANDS: dict[str, tuple[type[drf.Serializer], Handler, str]] = {
    "ping": (EmptyCommand, NotificationConsumer.do_ping, "pong"),
    "mark_read": (MarkReadCommand, NotificationConsumer.do_mark_read, "mark_read"),
    "mark_all_read": (MarkAllReadCommand, NotificationConsumer.do_mark_all_read, "mark_all_read"),
    "mark_seen": (MarkSeenCommand, NotificationConsumer.do_mark_seen, "mark_seen"),
    "archive": (ArchiveCommand, NotificationConsumer.do_archive, "archive"),
    "unarchive": (ArchiveCommand, NotificationConsumer.do_unarchive, "unarchive"),
    "snooze": (SnoozeCommand, NotificationConsumer.do_snooze, "snooze"),
    "unsnooze": (ArchiveCommand, NotificationConsumer.do_unsnooze, "unsnooze"),
    "run_action": (RunActionCommand, NotificationConsumer.do_run_action, "run_action"),
    "archive_broadcast": (
        ArchiveCommand,
        NotificationConsumer.do_archive_broadcast,
        "archive_broadcast",
    ),
    "unarchive_broadcast": (
        ArchiveCommand,
        NotificationConsumer.do_unarchive_broadcast,
        "unarchive_broadcast",
    ),
    "list": (ListCommand, NotificationConsumer.do_list, "list"),
    "sync": (SyncCommand, NotificationConsumer.do_sync, "synced"),
}
