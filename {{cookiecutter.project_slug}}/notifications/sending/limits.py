"""Limits on what a notification or broadcast may carry, so every frame built from one fits.

daphne sends no WebSocket message over NOTIFICATIONS_WS_MAX_MESSAGE_BYTES (64 KiB from
`manage.py serve`): it closes the socket with 1011 instead, and a resume that replays that
event closes again. So each field a caller controls is bounded here and checked by the service
before anything is stored. The largest frame these limits allow is built by
tests/test_limits.py::test_the_largest_notification_frame_fits_a_socket: 45,973 bytes with
every field at its limit and the default NOTIFICATIONS_MAX_DATA_BYTES (16 KiB, and a `url` in
it, which the payload shows twice), 19 KiB under the 64 KiB daphne sends.
"""

from typing import Any

from django.conf import settings

from notifications.models import MAX_GROUP_KEY_LENGTH, Notification
from notifications.serializers import MAX_URL_BYTES, dumps

# Characters, as the models store them; broadcasts have the same limits.
MAX_TITLE_LENGTH = Notification._meta.get_field("title").max_length or 200
MAX_MESSAGE_LENGTH = Notification._meta.get_field("message").max_length or 2000
MAX_TARGET_ID_LENGTH = Notification._meta.get_field("target_object_id").max_length or 64
# Bytes as JSON: 6 a character, which any text without emoji stays within. A frame escapes
# every non-ASCII character, and one outside the Basic Multilingual Plane (an emoji) takes
# 12, so 2,000 emoji would make a 24 KB message.
MAX_TITLE_BYTES = 6 * MAX_TITLE_LENGTH
MAX_MESSAGE_BYTES = 6 * MAX_MESSAGE_LENGTH
ELLIPSIS = "\u2026"


class ContentTooLarge(ValueError):
    """A field over its limit; `field` names it (`data`, `title`...), the message says the limit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def data_size(data: Any) -> int:
    """Bytes of `data` in a frame: its compact JSON, as every frame encodes it."""
    return len(dumps(data).encode())


def shortened(text: str, *, length: int, size: int) -> str:
    """`text` cut to `length` characters and `size` bytes as JSON, an ellipsis marking the cut.

    For callers that build a title or message from longer input (a comment's body).
    """
    if len(text) <= length and data_size(text) - 2 <= size:
        return text
    kept, used = [], data_size(ELLIPSIS) - 2
    for character in text[: length - 1]:
        used += data_size(character) - 2
        if used > size:
            break
        kept.append(character)
    return "".join(kept) + ELLIPSIS


def check_content(
    *,
    title: str,
    message: str,
    data: Any,
    group_key: str = "",
    target_id: str = "",
) -> None:
    """Raise ContentTooLarge for the first field over its limit; call before storing anything."""
    _check_text("title", title, MAX_TITLE_LENGTH, MAX_TITLE_BYTES)
    _check_text("message", message, MAX_MESSAGE_LENGTH, MAX_MESSAGE_BYTES)
    limit = settings.NOTIFICATIONS_MAX_DATA_BYTES
    size = data_size(data)
    if size > limit:
        raise ContentTooLarge(
            "data",
            f"at most {limit} bytes as compact JSON ({size}); NOTIFICATIONS_MAX_DATA_BYTES sets "
            "it. Store large content elsewhere and link to it.",
        )
    url = data.get("url") if isinstance(data, dict) else None
    if isinstance(url, str) and data_size(url) > MAX_URL_BYTES:
        raise ContentTooLarge("data.url", f"at most {MAX_URL_BYTES} bytes as JSON.")
    if len(group_key) > MAX_GROUP_KEY_LENGTH:
        raise ContentTooLarge("group_key", f"at most {MAX_GROUP_KEY_LENGTH} characters.")
    if len(target_id) > MAX_TARGET_ID_LENGTH:
        raise ContentTooLarge(
            "target", f"a primary key of at most {MAX_TARGET_ID_LENGTH} characters."
        )


def _check_text(field: str, text: str, length: int, size: int) -> None:
    if len(text) > length:
        raise ContentTooLarge(field, f"at most {length} characters ({len(text)}).")
    if data_size(text) - 2 > size:
        raise ContentTooLarge(
            field, f"at most {size} bytes as JSON ({data_size(text) - 2}); an emoji takes 12."
        )
