"""Logging for the whole process: an access log without query strings, and a redacting filter."""

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_logger = logging.getLogger("config.access")

# A credential in a query string: the JWT of ?token= and the one-time ticket of ?uuid=.
CREDENTIAL = re.compile(r"(?P<name>\b(?:token|uuid|ticket)=)[^&\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    return CREDENTIAL.sub(r"\g<name>[redacted]", text)


class RedactCredentials(logging.Filter):
    """Rewrites a record's message so no token= or uuid= value reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class AccessLogMiddleware:
    """One log line per HTTP response, and per WebSocket accept and end.

    It logs `scope["path"]`, which never holds the query string, so a WebSocket's `?token=` or
    `?uuid=` cannot reach the log; daphne's own access log would write HTTP query strings as
    they came, which is why the server runs with it switched off (`daphne -v 0`).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        client = (scope.get("client") or ["-"])[0]
        outcome: dict[str, Any] = {}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
            elif message["type"] == "websocket.accept":
                access_logger.info("%s WS %s accepted", client, scope["path"])
            elif message["type"] == "websocket.close":
                outcome["status"] = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            access_logger.info(
                "%s %s %s %s %.0fms",
                client,
                scope.get("method", "WS"),
                scope["path"],
                outcome.get("status", "-"),
                (time.monotonic() - started) * 1000,
            )
