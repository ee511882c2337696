"""A local Web Push service for tests: checks each message as a real push service does, and more.

It is a real HTTP server on loopback (a thread of the test process), so the code under test
sends over the network with pywebpush exactly as it would to a browser vendor's service. Each
message must carry a VAPID token (RFC 8292) signed with the server's key for this service's
origin, and a payload the service decrypts with the subscription's own private key (RFC 8291,
aes128gcm). It answers 201, or what the test scripted for that subscription: 404, 410 or 429.
"""

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from notifications.tests.servers import HOST

# RFC 8292: a token valid for more than 24 hours is refused.
MAX_TOKEN_SECONDS = 24 * 3600
# RFC 8030 section 5.3.
URGENCIES = ("very-low", "low", "normal", "high")
# What a push service accepts as one message (RFC 8291 section 4).
MAX_BODY_BYTES = 4096


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    """A message a push service refuses; the status it answers."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Browser:
    """One subscription's private side, as a browser holds it."""

    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str
    # Statuses to answer, in turn; 201 once they are used up.
    answers: list[int] = field(default_factory=list)

    @property
    def keys(self) -> dict[str, str]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(point), "auth": b64url(self.auth)}

    def as_json(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives a page."""
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": self.keys}


@dataclass
class Delivery:
    token: str
    status: int
    message: dict[str, Any]
    ttl: int
    urgency: str
    topic: str | None
    subject: str
    body_bytes: int


class PushService:
    """Start with `start()`, make subscriptions with `browser()`, read `deliveries`."""

    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}
        self.deliveries: list[Delivery] = []
        self.refusals: list[str] = []
        self.lock = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, headers = service.receive(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads `deliveries` and `refusals`."""

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.origin = f"http://{HOST}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "PushService":
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def browser(self, answers: list[int] | None = None) -> Browser:
        token = b64url(os.urandom(12))
        browser = Browser(
            token,
            ec.generate_private_key(ec.SECP256R1()),
            os.urandom(16),
            f"{self.origin}/push/{token}",
            list(answers or []),
        )
        self.browsers[token] = browser
        return browser

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        """Wait until `count` messages were answered (any status); all of them so far."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            return list(self.deliveries)

    def delivered(self) -> list[Delivery]:
        with self.lock:
            return [each for each in self.deliveries if each.status == 201]

    # The service -----------------------------------------------------------------------

    def receive(self, request: BaseHTTPRequestHandler) -> tuple[int, dict[str, str]]:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length)
        try:
            delivery = self.check(request.path, request.headers, body)
        except Refused as refused:
            with self.lock:
                self.refusals.append(str(refused))
                self.lock.notify_all()
            return refused.status, {}
        browser = self.browsers[delivery.token]
        delivery.status = browser.answers.pop(0) if browser.answers else 201
        with self.lock:
            self.deliveries.append(delivery)
            self.lock.notify_all()
        if delivery.status == 429:
            return 429, {"Retry-After": "1"}
        if delivery.status == 201:
            return 201, {"Location": f"{self.origin}/message/{len(self.deliveries)}"}
        return delivery.status, {}

    def check(self, path: str, headers: Any, body: bytes) -> Delivery:
        token = path.removeprefix("/push/")
        browser = self.browsers.get(token)
        if not path.startswith("/push/") or browser is None:
            raise Refused(404, f"unknown subscription {path}")
        subject = self.check_vapid(headers.get("Authorization", ""))
        if headers.get("Content-Encoding") != "aes128gcm":
            raise Refused(415, f"content encoding {headers.get('Content-Encoding')!r}")
        if len(body) > MAX_BODY_BYTES:
            raise Refused(413, f"{len(body)} bytes")
        ttl = headers.get("TTL")
        if ttl is None or not ttl.isdigit():
            raise Refused(400, f"TTL {ttl!r}")
        urgency = headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            raise Refused(400, f"Urgency {urgency!r}")
        topic = headers.get("Topic")
        if topic is not None and (
            len(topic) > 32 or not topic.replace("-", "").replace("_", "").isalnum()
        ):
            raise Refused(400, f"Topic {topic!r}")
        try:
            plaintext = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
        except Exception as error:
            raise Refused(400, f"cannot decrypt: {error!r}") from None
        return Delivery(
            token, 0, json.loads(plaintext), int(ttl), urgency, topic, subject, len(body)
        )

    def check_vapid(self, authorization: str) -> str:
        """RFC 8292: `vapid t=<JWT>, k=<public key>`, signed with ES256 by that key for this
        origin, not expired, valid for at most a day, with a contact; returns the contact."""
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, f"authorization scheme {scheme!r}")
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if fields.get("k") != self.vapid_public_key:
            raise Refused(403, "VAPID key is not the server's")
        try:
            header_b64, claims_b64, signature_b64 = fields["t"].split(".")
            header = json.loads(unb64url(header_b64))
            claims = json.loads(unb64url(claims_b64))
            signature = unb64url(signature_b64)
        except (KeyError, ValueError) as error:
            raise Refused(401, f"malformed token: {error!r}") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise Refused(401, f"token header {header}")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), unb64url(self.vapid_public_key)
        )
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise Refused(403, "bad VAPID signature") from None
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(403, f"aud {claims.get('aud')!r}")
        if not now < int(claims.get("exp", 0)) <= now + MAX_TOKEN_SECONDS:
            raise Refused(403, f"exp {claims.get('exp')!r}")
        subject = str(claims.get("sub", ""))
        if not subject.startswith(("mailto:", "https:")):
            raise Refused(403, f"sub {subject!r}")
        return subject
