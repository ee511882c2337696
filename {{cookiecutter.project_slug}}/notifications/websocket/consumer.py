"""The notifications WebSocket: live events, replay from a stream position, client commands."""

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from notifications import selectors
from notifications.serializers import (
    Frame,
    SyncCommand,
    dumps,
    error_frame,
    frame,
    reply_frame,
    synced_frame,
    unavailable_frame,
)
from notifications.stream import beats, events
from notifications.stream.events import session_tag
from notifications.stream.ordering import StreamFollower
from notifications.stream.positions import InvalidPosition, Position
from notifications.websocket import commands
from notifications.websocket.auth import AUTH_ERROR, AUTH_METHOD, AUTH_UNAVAILABLE, EXPIRES_AT
from notifications.websocket.commands import CommandError
from notifications.websocket.limits import MAX_FRAME_BYTES, MAX_REFUSED_IN_A_ROW, TokenBucket

logger = logging.getLogger(__name__)

# Close codes, all in the private 4000-4999 range (browsers and daphne refuse 1013 and 1011
# cannot be sent on purpose). The error frame before the close says why.
CLOSE_UNAUTHORIZED = 4401
# Sent by the server (`manage.py serve`), not this consumer: the client left too much unread.
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_MANY = 4429
CLOSE_TRY_AGAIN = 4503


class NotificationConsumer(StreamFollower, AsyncWebsocketConsumer):
    """One user's socket: joins their group and the broadcast group, answers commands.

    It only talks to the channel layer and calls selectors and services: every rule lives
    there, so a command behaves exactly as the matching REST endpoint. Stream order, gaps
    and heartbeats are StreamFollower's (notifications/stream/ordering.py), shared with SSE;
    the commands are notifications/websocket/commands.py.
    """

    # Flood control per socket: sustained commands per second, and the burst allowed. A
    # command that reads many rows (`sync`, `list`) costs COMMAND_COSTS tokens instead of one.
    commands_per_second = 20.0
    command_burst = 40
    refused_in_a_row = 0

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

    async def connect(self) -> None:
        user = self.scope.get("user")
        if self.scope.get(AUTH_UNAVAILABLE):
            await self.refuse(CLOSE_TRY_AGAIN, unavailable_frame())
            return
        if user is None or not user.is_authenticated:
            reason = self.scope.get(AUTH_ERROR, "Authentication required.")
            await self.refuse(CLOSE_UNAUTHORIZED, error_frame("unauthorized", reason))
            return
        stream = beats.for_this_loop()
        limit = settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER
        if stream.sockets_of(user.pk) >= limit:
            reason = f"At most {limit} open sockets per user."
            await self.refuse(CLOSE_TOO_MANY, error_frame("too_many_sockets", reason))
            return
        if self.scope.get(AUTH_METHOD) == "session":
            self.session_key = self.scope["session"].session_key
            self.session_tag = session_tag(self.session_key) if self.session_key else None
        self.replaying = True
        if not await self.join_groups([events.user_group(user.pk), events.BROADCAST_GROUP]):
            await self.refuse(CLOSE_TRY_AGAIN, unavailable_frame())
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
        self.end_at(self.scope.get(EXPIRES_AT))
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
        await self.release_held()

    async def disconnect(self, code: int) -> None:
        await self.release()

    async def refuse(self, close_code: int, reason: Frame) -> None:
        """Accept, say why, close: the client can show the reason, re-authenticate or retry."""
        await self.accept()
        await self.send_frame(reason)
        await self.close(code=close_code)

    # Commands ------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.registered:
            return
        request_id = None
        try:
            if text_data is None:
                raise CommandError("binary_not_supported", "Send commands as JSON text frames.")
            if len(text_data) > MAX_FRAME_BYTES or len(text_data.encode()) > MAX_FRAME_BYTES:
                raise CommandError("too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
            command = commands.parse(text_data)
            request_id = command.get("request_id")
            if not self.throttle.take(commands.COMMAND_COSTS.get(command.get("action"), 1.0)):
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

    async def run(self, command: dict[str, Any], request_id: Any) -> None:
        action = command.get("action")
        entry = commands.COMMANDS.get(action) if isinstance(action, str) else None
        if entry is None:
            raise commands.unknown(action)
        schema, handler, reply = entry
        try:
            params = commands.validate(schema, command)
        except CommandError as error:
            if action != "sync":
                raise
            # A resume always ends with `synced`, so a client never waits in replay mode.
            await self.send_frame(error_frame(error.code, error.message, request_id))
            await self.send_frame(synced_frame(recovered=False, count=0, request_id=request_id))
            return
        if action == "sync":
            # The reply is the replay itself and its `synced` frame, which carries request_id.
            await self.replay_from(params["since"], request_id)
            return
        result = (
            {} if handler is None else await database_sync_to_async(handler)(self.user_id, params)
        )
        await self.send_frame(reply_frame(reply, result, request_id))

    # Replay --------------------------------------------------------------------------------

    async def resume(self, since: str) -> None:
        """The replay a socket opened with `?since=` asks for; always ends with `synced`."""
        try:
            position = commands.validate(SyncCommand, {"since": since})["since"]
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
                await self.release_held()

    async def send_replay(
        self, replay: selectors.Replay, *, request_id: Any, announce: bool
    ) -> None:
        """Send a replay's frames (or nothing, when too large to send), then maybe `synced`."""
        frames, recovered = await self.replay_frames(replay)
        for missed in frames:
            await self.send_frame(missed)
        if announce:
            await self.send_frame(
                synced_frame(recovered=recovered, count=len(frames), request_id=request_id)
            )

    # StreamFollower's hooks ----------------------------------------------------------------

    async def send_live(self, text: str) -> None:
        await self.send(text_data=text)

    async def send_caught_up(self, replay: selectors.Replay) -> None:
        await self.send_replay(replay, request_id=None, announce=not replay.recovered)

    async def send_heartbeat(self) -> None:
        await self.send_frame(frame("connection", "heartbeat", {"last_id": str(self.position)}))

    async def stop(self, code: str, message: str) -> None:
        await self.end(code, message, CLOSE_UNAUTHORIZED)

    # Plumbing ------------------------------------------------------------------------------

    async def end(self, code: str, message: str, close_code: int) -> None:
        """Say why, then close: the error frame carries the reason daphne cannot send."""
        await self.send_frame(error_frame(code, message))
        await self.close(code=close_code)

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
