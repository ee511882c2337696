"""`manage.py serve`: daphne with this project's limits on sockets and event streams."""

import logging
from typing import Any

# daphne.cli first: importing daphne.server installs the asyncio reactor twisted must use.
from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

from notifications.websocket.consumer import CLOSE_TOO_SLOW

logger = logging.getLogger(__name__)


@implementer(IPushProducer)
class SendBuffer:
    """Keeps one socket's unsent bytes under the soft limit, or closes it past the hard one.

    A twisted transport calls its producer's pauseProducing() when a write leaves more than
    its `bufferSize` bytes unsent, and resumeProducing() once all of them went out. Past the
    soft limit the socket is not read any more: a client that sends commands without reading
    the replies waits for them (TCP back-pressure) instead of filling the server's memory.
    Then `bufferSize` becomes the hard limit, so a second pause means that what was still sent
    (pushes to a client that reads nothing, replies to commands read before the first pause)
    passed it: the socket is closed with CLOSE_TOO_SLOW and, as the close frame waits behind the
    unsent bytes, autobahn drops the connection when the closing handshake is not done within
    its timeout (one second).
    """

    def __init__(self, protocol: WebSocketProtocol, soft: int, hard: int) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.soft, self.hard = soft, hard
        self.paused = self.closing = False
        self.transport.bufferSize = soft
        # The HTTP channel that took the upgrade request is still the transport's producer;
        # it does nothing for a WebSocket, and a transport has one producer.
        self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)

    def pauseProducing(self) -> None:
        if not self.paused:
            self.paused = True
            self.transport.pauseProducing()
            self.transport.bufferSize = self.hard
        elif not self.closing:
            # Set first: writing the close frame calls pauseProducing again.
            self.closing = True
            logger.warning(
                "Socket closed with %d: more than %d bytes unread", CLOSE_TOO_SLOW, self.hard
            )
            self.protocol.sendClose(code=CLOSE_TOO_SLOW)

    def resumeProducing(self) -> None:
        self.paused = False
        self.transport.bufferSize = self.soft
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        """The connection is gone; nothing to stop."""


@implementer(IPushProducer)
class EventStreamBuffer:
    """Drops an event stream whose client left more than `limit` bytes unread.

    A twisted transport pauses the response's producer when a write leaves more than its
    `bufferSize` bytes unsent. An event stream has nothing to pause (the pushes come when they
    come), so the limit becomes the buffer size and a pause means the client is that far
    behind: the connection is aborted, and EventSource reconnects with Last-Event-ID and
    resumes from the database. Without it, twisted keeps every unread byte.
    """

    def __init__(self, request: WebRequest, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.transport = request.channel.transport
        self.default_buffer_size = self.transport.bufferSize
        self.dropped = False
        self.transport.bufferSize = limit
        request.registerProducer(self, True)

    def pauseProducing(self) -> None:
        if not self.dropped:
            self.dropped = True
            logger.warning("Event stream dropped: more than %d bytes unread", self.limit)
            self.transport.abortConnection()

    def resumeProducing(self) -> None:
        """The client caught up; nothing was paused."""

    def stopProducing(self) -> None:
        """The connection is gone; nothing to stop."""

    def release(self) -> None:
        """The stream ended: the connection may carry other responses, with twisted's buffer."""
        self.request.unregisterProducer()
        self.transport.bufferSize = self.default_buffer_size


def is_event_stream(message: dict[str, Any]) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"text/event-stream")
        for name, value in message.get("headers", [])
    )


class RawBodyRequest(WebRequest):
    """daphne's request, without twisted's parsing of POSTed forms.

    daphne hands Django the raw body and never reads what twisted parsed; but twisted answers a
    multipart body it cannot parse with a bare 400 (no body, no content type) before Django
    sees the request, where the API would answer its JSON error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False


class RawBodyHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = RawBodyRequest
        return protocol


class BoundedServer(Server):
    """daphne's server, with a SendBuffer on every WebSocket and the outbound limit lifted,
    and an EventStreamBuffer on every event stream."""

    def run(self) -> None:
        # Server.run() builds its HTTP factory from the name daphne.server imported.
        daphne_server.HTTPFactory = RawBodyHTTPFactory  # type: ignore[misc]
        super().run()

    def protocol_connected(self, protocol: Any) -> None:
        super().protocol_connected(protocol)
        if isinstance(protocol, WebSocketProtocol):
            SendBuffer(
                protocol,
                soft=settings.NOTIFICATIONS_WS_SEND_BUFFER_BYTES,
                hard=settings.NOTIFICATIONS_WS_MAX_UNSENT_BYTES,
            )

    async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
        if isinstance(protocol, WebRequest):
            await self.handle_http_reply(protocol, message)
            return
        if not isinstance(protocol, WebSocketProtocol) or message["type"] != "websocket.send":
            await super().handle_reply(protocol, message)
            return
        if protocol.state in (protocol.STATE_CLOSING, protocol.STATE_CLOSED):
            # autobahn raises on a send once the close has begun; the frame could not arrive.
            return
        # autobahn checks what it sends against maxMessagePayloadSize too, which is the
        # inbound --websocket-max-message-size: the server's own frames are bounded by what
        # a write may store and by the consumer's paging (notifications/sending/limits.py), and what
        # a socket holds unsent by SendBuffer.
        inbound, protocol.maxMessagePayloadSize = protocol.maxMessagePayloadSize, 0
        try:
            await super().handle_reply(protocol, message)
        finally:
            protocol.maxMessagePayloadSize = inbound

    async def handle_http_reply(self, request: WebRequest, message: dict[str, Any]) -> None:
        buffer = getattr(request, "event_stream_buffer", None)
        if buffer is not None and buffer.dropped:
            return
        await super().handle_reply(request, message)
        if message["type"] == "http.response.start" and is_event_stream(message):
            if request.channel is not None and request.channel.transport is not None:
                request.event_stream_buffer = EventStreamBuffer(  # type: ignore[attr-defined]
                    request, settings.NOTIFICATIONS_SSE_MAX_UNSENT_BYTES
                )
        elif buffer is not None and not message.get("more_body", False):
            buffer.release()


class BoundedCommandLineInterface(CommandLineInterface):
    server_class = BoundedServer


class Command(BaseCommand):
    help = (
        "Serve config.asgi with daphne. Client messages and frames over "
        "NOTIFICATIONS_WS_MAX_MESSAGE_BYTES are refused before they are queued (the connection "
        "is dropped); that limit applies to what clients send only, not to the server's own "
        "frames. A socket with more than NOTIFICATIONS_WS_SEND_BUFFER_BYTES unsent is not read "
        "until they are sent, and one past NOTIFICATIONS_WS_MAX_UNSENT_BYTES is closed with "
        f"{CLOSE_TOO_SLOW}; an event stream past NOTIFICATIONS_SSE_MAX_UNSENT_BYTES is dropped. "
        "daphne's access log, which would write query strings (tokens, "
        "tickets), stays off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", "-b", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", "-p", type=int, default=8000)
        parser.add_argument(
            "--proxy-headers",
            action="store_true",
            help=(
                "take the client address from X-Forwarded-For; only behind a proxy that sets "
                "it, and leave NUM_PROXIES at 0 then"
            ),
        )

    def handle(self, *args: Any, bind: str, port: int, proxy_headers: bool, **options: Any) -> None:
        limit = str(settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES)
        argv = [
            "--bind",
            bind,
            "--port",
            str(port),
            "--verbosity",
            "0",
            "--websocket-max-message-size",
            limit,
            "--websocket-max-frame-size",
            limit,
        ]
        if proxy_headers:
            argv.append("--proxy-headers")
        BoundedCommandLineInterface().run([*argv, "config.asgi:application"])
