"""Server-Sent Events at `api/notifications/stream/`: the socket's events over plain HTTP.

For clients that cannot hold a WebSocket (a proxy that strips the upgrade, a script, `curl`):
the same frames as the socket, each as the `data:` of one message, with the stream position
as its `id:`. A client that reconnects sends `Last-Event-ID` (EventSource does it on its own)
or `?since=`, and gets every event after it, then `synced` with `recovered`, exactly as the
socket's `?since=`. Heartbeats are comment lines. It is read-only: commands go through REST.

A Channels consumer rather than an async Django view: it joins the socket's channel-layer
groups and receives their pushes through the same dispatch (`notify.event`), and it sits
behind the same authentication middleware (`?token=`, `?uuid=`, the session), with the
`Authorization: Bearer` header added here for scripts.
"""

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.conf import settings

from notifications import selectors
from notifications.serializers import (
    Frame,
    dumps,
    error_frame,
    frame,
    synced_frame,
    unavailable_frame,
)
from notifications.stream import beats, events
from notifications.stream.events import session_tag
from notifications.stream.ordering import StreamFollower
from notifications.stream.positions import InvalidPosition, Position
from notifications.websocket.auth import (
    AUTH_ERROR,
    AUTH_METHOD,
    AUTH_UNAVAILABLE,
    EXPIRES_AT,
    authenticate_token,
)

logger = logging.getLogger(__name__)

# How long EventSource waits before it reconnects after the stream ends (milliseconds).
RECONNECT_MILLISECONDS = 3000
# The response headers of a stream. X-Accel-Buffering turns nginx's buffering off for this
# response, whatever its configuration (deploy/nginx.conf turns it off for the path too).
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]


class StreamError(Exception):
    """A request that gets no stream: answered with its status and a JSON body."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


class NotificationStreamConsumer(StreamFollower, AsyncHttpConsumer):
    """One user's event stream: the socket's guarantees, the socket's groups, over HTTP.

    Opening is all-or-nothing: authentication, the group joins, the ready state and the replay
    are done before the first byte, so a failure is a plain 4xx or 503 with a JSON body. Then
    live pushes go through StreamFollower (notifications/stream/ordering.py), as on the socket:
    in commit order, with no gap, never twice. Every `id:` sent is a position whose events
    were all sent before it.
    """

    # True once the 200 and its headers went out; False again when the stream ended.
    streaming = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            if "channel_name" in self.__dict__:
                raise
            # The channel layer could not open this stream's channel (Redis is down).
            logger.warning("Channel layer unavailable; stream refused with 503")
            self.base_send = send
            await self.send_error(
                StreamError(503, unavailable_frame()["payload"]["message"], "unavailable")
            )
        finally:
            await self.release()

    async def http_request(self, message: dict[str, Any]) -> None:
        """The request is complete: open the stream, or answer why not and stop."""
        if message.get("more_body"):
            return
        try:
            await self.open()
        except StreamError as error:
            await self.send_error(error)
        except Exception:
            logger.exception("Stream could not open; the client is asked to retry")
            if not self.streaming:
                await self.send_error(
                    StreamError(503, "Could not read the stream; retry.", "unavailable")
                )
        if not self.streaming:
            raise StopConsumer

    async def disconnect(self) -> None:
        await self.release()

    # Opening -------------------------------------------------------------------------------

    async def open(self) -> None:
        if self.scope["method"] != "GET":
            raise StreamError(
                405, f'Method "{self.scope["method"]}" not allowed.', "method_not_allowed"
            )
        user_id = await self.authenticate()
        since = self.requested_position()
        stream = beats.for_this_loop()
        if stream.sockets_of(user_id) >= settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER:
            limit = settings.NOTIFICATIONS_MAX_SOCKETS_PER_USER
            raise StreamError(
                429, f"At most {limit} open streams and sockets per user.", "too_many_sockets"
            )
        if not await self.join_groups([events.user_group(user_id), events.BROADCAST_GROUP]):
            raise StreamError(503, unavailable_frame()["payload"]["message"], "unavailable")
        self.user_id = user_id
        self.replaying = True
        # Read after joining the groups: an event that commits meanwhile is both in the
        # replay or after the ready position, and held, and sent once.
        state = await stream.ready_state(user_id)
        self.counts_text = dumps(state.counts)
        opening: list[bytes] = [f"retry: {RECONNECT_MILLISECONDS}\n\n".encode()]
        ready = frame(
            "connection",
            "ready",
            {"user_id": user_id, "counts": state.counts, "last_id": str(state.last_id)},
        )
        if since is None:
            self.position = state.last_id
            opening.append(sse_message(dumps(ready), event_id=str(self.position)))
        else:
            # The client holds `since`: the ready position is not its own until the replay.
            self.position = since
            opening.append(sse_message(dumps(ready)))
            opening += await self.replay(since)
        await self.send_headers(status=200, headers=STREAM_HEADERS)
        self.streaming = True
        await self.send_body(b"".join(opening), more_body=True)
        stream.join(self)
        self.registered = True
        self.end_at(self.scope.get(EXPIRES_AT))
        await self.release_held()

    async def authenticate(self) -> int:
        """The user of the Bearer header, else of the middleware's `?token=`, `?uuid=`, session."""
        header = dict(self.scope.get("headers", [])).get(b"authorization", b"").decode("latin-1")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() == "bearer" and raw.strip():
            try:
                user, self.scope[EXPIRES_AT] = await authenticate_token(raw.strip())
            except Exception:
                raise StreamError(
                    503, "Could not authenticate now; retry.", "unavailable"
                ) from None
            if user is None or not user.is_active:
                raise StreamError(401, "Invalid or expired access token.", "unauthorized")
            return int(user.pk)
        if self.scope.get(AUTH_UNAVAILABLE):
            raise StreamError(503, "Could not authenticate now; retry.", "unavailable")
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise StreamError(
                401, self.scope.get(AUTH_ERROR, "Authentication required."), "unauthorized"
            )
        if self.scope.get(AUTH_METHOD) == "session":
            self.session_key = self.scope["session"].session_key
            self.session_tag = session_tag(self.session_key) if self.session_key else None
        return int(user.pk)

    def requested_position(self) -> Position | None:
        """`Last-Event-ID` (an EventSource reconnecting), else `?since=`; None for neither."""
        header = dict(self.scope.get("headers", [])).get(b"last-event-id")
        if header is not None and header.strip():
            text = header.decode("latin-1")
        else:
            values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("since")
            if not values:
                return None
            text = values[-1]
        try:
            return Position.parse(text)
        except InvalidPosition as error:
            raise StreamError(400, f"since: {error}", "invalid_params") from None

    async def replay(self, since: Position) -> list[bytes]:
        """The messages of a resume from `since`: its events, then `synced`."""
        try:
            replay = await self.read_replay(since)
        except InvalidPosition as error:
            # Ahead of the stream (a database restored from a backup): the client reloads.
            self.position = await self.read_head()
            replay = selectors.Replay([], False, self.position)
            messages = [sse_message(dumps(error_frame("invalid_params", str(error))))]
        else:
            messages = []
        return messages + await self.replay_messages(replay)

    async def replay_messages(self, replay: selectors.Replay) -> list[bytes]:
        """A replay's events (none when too large to send), then `synced` at the new position."""
        frames, recovered = await self.replay_frames(replay)
        messages = [sse_message(dumps(each), event_id=each["id"]) for each in frames]
        synced = synced_frame(recovered=recovered, count=len(frames))
        messages.append(sse_message(dumps(synced), event_id=str(self.position)))
        return messages

    # StreamFollower's hooks ----------------------------------------------------------------

    def delivering(self) -> bool:
        return self.streaming

    async def send_live(self, text: str) -> None:
        await self.send_body(sse_message(text, event_id=str(self.position)), more_body=True)

    async def send_caught_up(self, replay: selectors.Replay) -> None:
        messages = await self.replay_messages(replay)
        if replay.recovered:
            # Only a lost position is announced, as on the socket.
            messages = messages[:-1]
        if self.streaming and messages:
            await self.send_body(b"".join(messages), more_body=True)

    async def send_heartbeat(self) -> None:
        """A comment line with the position."""
        if self.streaming:
            await self.send_body(f": heartbeat {self.position}\n\n".encode(), more_body=True)

    async def stop(self, code: str, message: str) -> None:
        await self.end_stream(error_frame(code, message))

    # Plumbing ------------------------------------------------------------------------------

    async def end_stream(self, last: Frame | None = None) -> None:
        """Send a last frame, if any, and finish the response; the server then disconnects."""
        if not self.streaming:
            return
        self.streaming = False
        body = sse_message(dumps(last)) if last is not None else b""
        await self.send_body(body)
        await self.release()

    async def send_error(self, error: StreamError) -> None:
        body = dumps({"detail": error.detail, "code": error.code}).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        if error.status == 405:
            headers.append((b"allow", b"GET"))
        if error.status == 503:
            headers.append((b"retry-after", b"5"))
        await self.send_response(error.status, body, headers=headers)

    @database_sync_to_async
    def read_head(self) -> Position:
        return selectors.latest_position(self.user_id)


def sse_message(data: str, *, event_id: str | None = None) -> bytes:
    """One Server-Sent Events message; `data` is JSON text, which never holds a line break."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {data}\n\n".encode()
