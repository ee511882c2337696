"""The WebSocket Origin check: scheme, host and port compared in full, as Django's CSRF does.

A page may open a socket from this site's own origin (the handshake's scheme and `Host`, the
host in ALLOWED_HOSTS) or from one of CSRF_TRUSTED_ORIGINS. A client that sends no Origin is
not a browser page; it may connect only with credentials of its own (`?token=` or `?uuid=`),
never on a session cookie. Anything else is refused at the handshake with a 403: there the
browser is the attacker, so it is told nothing more.
"""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin such as `https://example.com:8443`; None if malformed."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def own_origin(scope: dict[str, Any], headers: dict[bytes, bytes]) -> Origin | None:
    """The origin of this site as the client reached it, if its Host is an allowed one."""
    secure = scope.get("scheme") == "wss"
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        secure = secure or headers.get(header, b"").decode("latin-1") == value
    host = headers.get(b"host", b"").decode("latin-1")
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if secure else "http"
    return scheme, domain.strip("[]"), int(port) if port else DEFAULT_PORTS[scheme]


def is_trusted(origin: Origin) -> bool:
    """Whether CSRF_TRUSTED_ORIGINS lists the origin; `https://*.example.com` covers subdomains."""
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        trusted = parse_origin(entry.replace("://*.", "://", 1))
        if trusted is None or trusted[0] != scheme or trusted[2] != port:
            continue
        if host == trusted[1] or (wildcard and is_same_domain(host, f".{trusted[1]}")):
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers", []))
    raw = headers.get(b"origin")
    if raw is None:
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return "token" in params or "uuid" in params
    origin = parse_origin(raw.decode("latin-1"))
    if origin is None:
        return False
    return origin == own_origin(scope, headers) or is_trusted(origin)


class OriginValidator:
    """Refuses a WebSocket handshake whose Origin this site does not trust (see the module)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
