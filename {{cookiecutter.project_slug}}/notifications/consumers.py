"""The notifications WebSocket: live pushes, catch-up by id and a few client commands."""

import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework import serializers

from notifications import categories, events, selectors
from notifications.auth import AUTH_ERROR, EXPIRES_AT
from notifications.models import Notification
from notifications.serializers import MAX_ID, ListQuerySerializer, NotificationSerializer
from notifications.services import NotificationService

logger = logging.getLogger(__name__)

# Close codes: 4401 is "unauthorized" in the private 4000-4999 range; 1013 asks to retry later.
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013
# Largest client frame accepted; commands are tiny, so anything bigger is a mistake or abuse.
MAX_FRAME_BYTES = 64 * 1024
# Most notifications one `list` command returns.
MAX_LIST_LIMIT = 100


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


class MarkReadParams(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class MarkAllReadParams(serializers.Serializer):
    category = serializers.CharField(required=False, allow_null=True, default=None)


class ListParams(ListQuerySerializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=MAX_LIST_LIMIT
    )


class SyncParams(serializers.Serializer):
    since = serializers.IntegerField(min_value=0, max_value=MAX_ID)


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

    async def connect(self) -> None:
        self.joined = []
        self.tasks = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(self.scope.get(AUTH_ERROR, "Authentication required."))
            return

        if not await self.join_groups([events.user_group(user.pk), events.BROADCAST_GROUP]):
            await self.accept()
            await self.close(code=CLOSE_TRY_AGAIN, reason="Service unavailable; retry later.")
            return
        self.user_id = user.pk
        self.throttle = TokenBucket(self.commands_per_second, self.command_burst)
        await self.accept()
        await self.send_frame(await self.ready_frame())
        since = self.query_param("since")
        if since is not None:
            try:
                await self.replay(self.validate(SyncParams, {"since": since})["since"])
            except CommandError as error:
                await self.send_frame(events.error_frame(error.code, error.message))

        self.tasks.append(asyncio.create_task(self.heartbeat()))
        expires_at = self.scope.get(EXPIRES_AT)
        if expires_at is not None:
            self.tasks.append(asyncio.create_task(self.close_at(expires_at)))

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
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
            await self.send_frame(events.error_frame(error.code, error.message, request_id))

    async def notify_frame(self, message: dict[str, Any]) -> None:
        """A frame pushed to one of this socket's groups (events.HANDLER_TYPE)."""
        await self.send_frame(message["frame"])

    # Commands ----------------------------------------------------------------------------

    async def run(self, command: dict[str, Any], request_id: Any) -> None:
        action = command.get("action")
        if action == "ping":
            await self.reply("pong", {}, request_id)
        elif action == "mark_read":
            params = self.validate(MarkReadParams, command)
            await self.reply("mark_read", await self.mark_read(params["id"]), request_id)
        elif action == "mark_all_read":
            params = self.validate(MarkAllReadParams, command)
            marked = await self.mark_all_read(params["category"])
            await self.reply("mark_all_read", marked, request_id)
        elif action == "list":
            params = self.validate(ListParams, command)
            await self.reply("list", await self.list_page(params), request_id)
        elif action == "sync":
            await self.replay(self.validate(SyncParams, command)["since"], request_id)
        else:
            raise CommandError("unknown_action", f"Unknown action {action!r}.")

    async def reply(self, event: str, payload: dict[str, Any], request_id: Any) -> None:
        await self.send_frame(events.frame("reply", event, {**payload, "request_id": request_id}))

    async def replay(self, since: int, request_id: Any = None) -> None:
        """What the user missed after `since`, oldest first, then `synced`."""
        frames, recovered = await self.missed_frames(since)
        for missed in frames:
            await self.send_frame(missed)
        payload = {"recovered": recovered, "count": len(frames)}
        if request_id is not None:
            payload["request_id"] = request_id
        await self.send_frame(events.frame("connection", "synced", payload))

    # Database ----------------------------------------------------------------------------

    @database_sync_to_async
    def ready_frame(self) -> events.Frame:
        return events.frame(
            "connection",
            "ready",
            {
                "user_id": self.user_id,
                "unread_count": selectors.unread_count(self.user_id),
                "unread_by_category": selectors.unread_counts_by_category(self.user_id),
                "last_id": selectors.latest_id(self.user_id),
            },
        )

    @database_sync_to_async
    def missed_frames(self, since: int) -> tuple[list[events.Frame], bool]:
        rows, complete = selectors.missed_since(
            self.user_id, since, limit=settings.NOTIFICATIONS_REPLAY_LIMIT
        )
        unread = selectors.unread_count(self.user_id) if rows else 0
        return events.created_frames(rows, unread), complete

    @database_sync_to_async
    def latest_id(self) -> int:
        return selectors.latest_id(self.user_id)

    @database_sync_to_async
    def mark_read(self, notification_id: int) -> dict[str, Any]:
        try:
            NotificationService.mark_notification_read(notification_id, self.user_id)
        except Notification.DoesNotExist:
            raise CommandError("not_found", f"No notification {notification_id}.") from None
        return {"id": notification_id, "unread_count": selectors.unread_count(self.user_id)}

    @database_sync_to_async
    def mark_all_read(self, category: str | None) -> dict[str, Any]:
        try:
            marked = NotificationService.mark_all_notifications_read(self.user_id, category)
        except categories.UnknownCategory as error:
            raise CommandError("invalid_params", str(error)) from None
        return {"marked": marked, "unread_count": selectors.unread_count(self.user_id)}

    @database_sync_to_async
    def list_page(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of the inbox, newest first; `before` is the last id of the previous page."""
        queryset = selectors.notifications_for(
            self.user_id, category=params.get("category"), unread=params.get("unread")
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
        await self.send_frame(events.error_frame("unauthorized", reason))
        await self.close(code=CLOSE_UNAUTHORIZED, reason=reason)

    async def join_groups(self, groups: list[str]) -> bool:
        """Join every group, or say why not: a socket that misses pushes must not stay open."""
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
        except Exception:
            logger.exception("Joining %s failed; the client is asked to retry", groups)
            return False
        return True

    async def heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.NOTIFICATIONS_HEARTBEAT_SECONDS)
            last_id = await self.latest_id()
            await self.send_frame(events.frame("connection", "heartbeat", {"last_id": last_id}))

    async def close_at(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        reason = "Access token expired."
        await self.send_frame(events.error_frame("token_expired", reason))
        await self.close(code=CLOSE_UNAUTHORIZED, reason=reason)

    async def send_frame(self, frame: events.Frame) -> None:
        await self.send(text_data=json.dumps(frame, default=str))

    def query_param(self, name: str) -> str | None:
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get(name)
        return values[-1] if values else None

    @staticmethod
    def parse(text_data: str) -> dict[str, Any]:
        try:
            command = json.loads(text_data)
        except ValueError:
            raise CommandError("invalid_json", "Frames must be JSON.") from None
        if not isinstance(command, dict):
            raise CommandError("invalid_json", "Frames must be a JSON object.")
        return command

    @staticmethod
    def validate(params: type[serializers.Serializer], data: dict[str, Any]) -> dict[str, Any]:
        serializer = params(data=data)
        if not serializer.is_valid():
            errors = "; ".join(
                f"{field}: {' '.join(str(message) for message in messages)}"
                for field, messages in serializer.errors.items()
            )
            raise CommandError("invalid_params", errors)
        return dict(serializer.validated_data)
