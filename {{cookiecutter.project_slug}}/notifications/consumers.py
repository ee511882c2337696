"""The notifications WebSocket: live events, replay from a stream position, client commands."""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework import serializers as drf

from notifications import categories, events, positions, selectors
from notifications.auth import AUTH_ERROR, EXPIRES_AT
from notifications.models import Notification
from notifications.serializers import (
    ArchiveCommand,
    EmptyCommand,
    Frame,
    ListCommand,
    MarkAllReadCommand,
    MarkReadCommand,
    MarkSeenCommand,
    NotificationSerializer,
    SyncCommand,
    dumps,
    error_frame,
    event_frame,
    frame,
    reply_frame,
)
from notifications.services import NotificationService

logger = logging.getLogger(__name__)

# Close codes, all in the private 4000-4999 range (browsers and daphne refuse 1013 and 1011
# cannot be sent on purpose). The error frame before the close says why.
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 4503
# Largest client frame accepted; commands are tiny, so anything bigger is a mistake or abuse.
MAX_FRAME_BYTES = 64 * 1024


class TokenBucket:
    """Allows `burst` commands at once and `rate` per second after that."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
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

    # Flood control per socket: sustained commands per second, and the burst allowed.
    commands_per_second = 20.0
    command_burst = 40

    user_id: int | None = None
    joined: list[str]
    tasks: list[asyncio.Task[None]]
    # The position of the newest event sent, and the counts it carried (JSON text), which
    # every-user frames (broadcasts) are completed with.
    position: int = 0
    counts_text: str = "{}"
    # Live events held back while a replay runs, so none is sent twice or out of order.
    held: list[dict[str, Any]] | None = None

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

    async def connect(self) -> None:
        self.joined = []
        self.tasks = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(self.scope.get(AUTH_ERROR, "Authentication required."))
            return
        self.held = []
        if not await self.join_groups([events.user_group(user.pk), events.BROADCAST_GROUP]):
            await self.accept()
            await self.send_frame(unavailable_frame())
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.user_id = user.pk
        self.throttle = TokenBucket(self.commands_per_second, self.command_burst)
        await self.accept()
        ready = await self.ready_frame()
        self.counts_text = dumps(ready["payload"]["counts"])
        # Events up to `last_id` are in the ready state already: held ones are not sent again.
        self.position = ready["payload"]["last_id"]
        await self.send_frame(ready)
        since = self.query_param("since")
        if since is not None:
            try:
                await self.replay(self.validate(SyncCommand, {"since": since})["since"])
            except CommandError as error:
                await self.send_frame(error_frame(error.code, error.message))
        await self.release_held()

        positions.for_this_loop().join(user.pk)
        self.tasks.append(asyncio.create_task(self.heartbeat()))
        expires_at = self.scope.get(EXPIRES_AT)
        if expires_at is not None:
            self.tasks.append(asyncio.create_task(self.close_at(expires_at)))

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        if self.user_id is not None and self.tasks:
            positions.for_this_loop().leave(self.user_id)
        for group in self.joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                logger.warning("Leaving %s failed; the layer drops it on reconnect", group)
        self.joined = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            return
        request_id = None
        try:
            if not self.throttle.take():
                raise CommandError("rate_limited", "Too many commands; slow down.")
            if text_data is None:
                raise CommandError("binary_not_supported", "Send commands as JSON text frames.")
            if len(text_data.encode()) > MAX_FRAME_BYTES:
                raise CommandError("too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
            command = self.parse(text_data)
            request_id = command.get("request_id")
            await self.run(command, request_id)
        except CommandError as error:
            await self.send_frame(error_frame(error.code, error.message, request_id))

    async def notify_event(self, message: dict[str, Any]) -> None:
        """An event published to one of this socket's groups (events.HANDLER_TYPE)."""
        if self.held is not None:
            self.held.append(message)
            return
        await self.send_event(message)

    async def send_event(self, message: dict[str, Any]) -> None:
        if "text" in message:
            self.counts_text = message["counts"]
            text = message["text"]
        else:
            text = message["head"] + self.counts_text + message["tail"]
        self.position = max(self.position, message["id"])
        await self.send(text_data=text)

    # Commands ----------------------------------------------------------------------------

    async def run(self, command: dict[str, Any], request_id: Any) -> None:
        action = command.get("action")
        entry = COMMANDS.get(action) if isinstance(action, str) else None
        if entry is None:
            raise CommandError("unknown_action", f"Unknown action {action!r}.")
        schema, handler, reply = entry
        result = await handler(self, self.validate(schema, command))
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

    async def do_list(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self.list_page(params)

    async def do_sync(self, params: dict[str, Any]) -> None:
        # The reply is the replay itself and its `synced` frame, which carries request_id.
        self.held = []
        try:
            await self.replay(params["since"], params.get("request_id"))
        finally:
            await self.release_held()

    async def replay(self, since: int, request_id: Any = None) -> None:
        """Every event of the stream after `since`, oldest first, then `synced`."""
        frames, recovered = await self.stream_after(since)
        for missed in frames:
            await self.send_frame(missed)
            self.position = max(self.position, missed["id"])
        payload: dict[str, Any] = {"recovered": recovered, "count": len(frames)}
        if request_id is not None:
            payload["request_id"] = request_id
        await self.send_frame(frame("connection", "synced", payload))

    async def release_held(self) -> None:
        """Send the live events that arrived during a replay and were not part of it."""
        held, self.held = self.held or [], None
        for message in held:
            if message["id"] > self.position:
                await self.send_event(message)

    # Database ----------------------------------------------------------------------------

    @database_sync_to_async
    def ready_frame(self) -> Frame:
        return frame(
            "connection",
            "ready",
            {
                "user_id": self.user_id,
                "counts": selectors.counts(self.user_id),
                "last_id": selectors.latest_position(self.user_id),
            },
        )

    @database_sync_to_async
    def stream_after(self, since: int) -> tuple[list[Frame], bool]:
        if since > selectors.latest_position(self.user_id):
            raise CommandError("invalid_params", "since: ahead of the newest event.")
        rows, recovered = selectors.events_after(
            self.user_id, since, limit=settings.NOTIFICATIONS_REPLAY_LIMIT
        )
        counts = selectors.counts(self.user_id) if rows else None
        return [event_frame(row.pk, row.kind, row.payload, counts) for row in rows], recovered

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
            marked = NotificationService.mark_all_notifications_read(self.user_id, category)
        except categories.UnknownCategory as error:
            raise CommandError("invalid_params", str(error)) from None
        return {"marked": marked, "counts": selectors.counts(self.user_id)}

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
    def list_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of the inbox, newest first; `before` is the last id of the previous page."""
        queryset = selectors.notifications_for(
            self.user_id,
            category=params.get("category"),
            unread=params.get("unread"),
            archived=params.get("archived", False),
        )
        if params.get("before") is not None:
            queryset = queryset.filter(id__lt=params["before"])
        limit = params["limit"]
        rows = list(queryset[: limit + 1])
        return {
            "notifications": NotificationSerializer(rows[:limit], many=True).data,
            "has_more": len(rows) > limit,
        }

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

    async def heartbeat(self) -> None:
        stream = positions.for_this_loop()
        while True:
            latest = await stream.next_beat(self.user_id or 0)
            last_id = max(latest or 0, self.position)
            await self.send_frame(frame("connection", "heartbeat", {"last_id": last_id}))

    async def close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.send_frame(error_frame("token_expired", "Access token expired."))
        await self.close(code=CLOSE_UNAUTHORIZED)

    async def send_frame(self, value: Frame) -> None:
        await self.send(text_data=dumps(value))

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


def unavailable_frame() -> Frame:
    return error_frame("unavailable", "The server cannot deliver notifications now; retry.")


# The dispatch table: each action, the schema of its parameters, the method that runs it and
# the `event` of its reply frame.
COMMANDS: dict[str, tuple[type[drf.Serializer], Handler, str]] = {
    "ping": (EmptyCommand, NotificationConsumer.do_ping, "pong"),
    "mark_read": (MarkReadCommand, NotificationConsumer.do_mark_read, "mark_read"),
    "mark_all_read": (MarkAllReadCommand, NotificationConsumer.do_mark_all_read, "mark_all_read"),
    "mark_seen": (MarkSeenCommand, NotificationConsumer.do_mark_seen, "mark_seen"),
    "archive": (ArchiveCommand, NotificationConsumer.do_archive, "archive"),
    "unarchive": (ArchiveCommand, NotificationConsumer.do_unarchive, "unarchive"),
    "list": (ListCommand, NotificationConsumer.do_list, "list"),
    "sync": (SyncCommand, NotificationConsumer.do_sync, "synced"),
}
