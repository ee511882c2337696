"""VAPID keys (RFC 8292): made by `manage.py generate_vapid_keys`, read from the settings.

Both keys travel as base64url text without padding: the public key as the uncompressed P-256
point browsers take as `applicationServerKey`, the private key as its 32-byte scalar.
"""

import base64
import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate() -> tuple[str, str]:
    """A new key pair: (public key, private key)."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    return public_key_text(private_key), b64url(
        private_key.private_numbers().private_value.to_bytes(32, "big")
    )


def public_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def enabled() -> bool:
    """True when both keys are set: without them nothing is sent and subscribing is refused."""
    return bool(settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY and public_key())


def public_key() -> str:
    return str(settings.NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY)


@functools.cache
def _signer(private_key: str, public_key: str) -> Vapid:
    try:
        number = int.from_bytes(b64url_decode(private_key), "big")
        key = ec.derive_private_key(number, ec.SECP256R1())
    except ValueError as error:
        raise ImproperlyConfigured(
            "NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY is not a P-256 key; make a pair with "
            "`manage.py generate_vapid_keys`."
        ) from error
    if public_key_text(key) != public_key:
        raise ImproperlyConfigured(
            "NOTIFICATIONS_PUSH_VAPID_PUBLIC_KEY is not the private key's public key; set the "
            "pair `manage.py generate_vapid_keys` printed."
        )
    return Vapid(private_key=key)


def signer() -> Vapid:
    """What signs each push's VAPID token; a mismatched or malformed pair fails fast."""
    return _signer(str(settings.NOTIFICATIONS_PUSH_VAPID_PRIVATE_KEY), public_key())
