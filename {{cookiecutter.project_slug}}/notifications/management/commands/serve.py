"""`manage.py serve`: daphne with the WebSocket limits of this project's settings."""

from typing import Any

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Serve config.asgi with daphne. Messages over NOTIFICATIONS_WS_MAX_MESSAGE_BYTES are "
        "refused before they are queued (the connection is dropped), and daphne's access "
        "log, which would write query strings (tokens, tickets), stays off."
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
        CommandLineInterface().run([*argv, "config.asgi:application"])
