"""The socket's client commands: each action's parameters, the write or read it runs, its reply.

A command behaves exactly as the matching REST endpoint: it calls the same service or
selector, in the database thread, with the socket's user. A command that cannot run is a
CommandError, which the socket answers with an error frame and stays open.
"""

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework import serializers as drf

from notifications import categories, selectors
from notifications.models import Broadcast, Notification
from notifications.serializers import (
    ArchiveCommand,
    EmptyCommand,
    ListCommand,
    MarkAllReadCommand,
    MarkReadCommand,
    MarkSeenCommand,
    NotificationSerializer,
    RunActionCommand,
    SnoozeCommand,
    SyncCommand,
    dumps,
    within_bytes,
)
from notifications.services import NotificationService

# Bytes a reply frame keeps for its envelope around a `list` page: type, event, has_more and
# the request_id, which parse() bounds to MAX_REQUEST_ID_BYTES. The page gets the rest of
# NOTIFICATIONS_WS_MAX_MESSAGE_BYTES, which daphne will not exceed when sending (it closes the
# socket with 1011 instead).
REPLY_ENVELOPE_BYTES = 1024
# Longest request_id, as JSON: every reply echoes it, so it must not crowd out the reply.
MAX_REQUEST_ID_BYTES = 256
# Longest action name echoed in an `unknown_action` error.
MAX_ECHOED_ACTION = 50


class CommandError(Exception):
    """A client command that cannot run; becomes an error frame, the socket stays open."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse(text_data: str) -> dict[str, Any]:
    """A command frame as a dict; a CommandError for anything that is not a JSON object."""
    try:
        command = json.loads(text_data)
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack, e.g. "[" * 20000.
        raise CommandError("invalid_json", "Frames must be JSON.") from None
    if not isinstance(command, dict):
        raise CommandError("invalid_json", "Frames must be a JSON object.")
    if len(dumps(command.get("request_id"))) > MAX_REQUEST_ID_BYTES:
        raise CommandError(
            "invalid_params", f"request_id: at most {MAX_REQUEST_ID_BYTES} bytes as JSON."
        )
    return command


def validate(schema: type[drf.Serializer], data: dict[str, Any]) -> dict[str, Any]:
    """The command's parameters, checked by its schema, with its request_id."""
    serializer = schema(data=data)
    if not serializer.is_valid():
        errors = "; ".join(
            f"{field}: {' '.join(str(message) for message in messages)}"
            for field, messages in serializer.errors.items()
        )
        raise CommandError("invalid_params", errors)
    return {**serializer.validated_data, "request_id": data.get("request_id")}


def unknown(action: object) -> CommandError:
    shown = action[:MAX_ECHOED_ACTION] if isinstance(action, str) else None
    return CommandError("unknown_action", f"Unknown action {shown!r}.")


# Each command below runs in the database thread with the socket's user id and the checked
# parameters, and returns its reply's payload.


def mark_read(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    notification_id = params["id"]
    try:
        NotificationService.mark_notification_read(notification_id, user_id, params["category"])
    except (Notification.DoesNotExist, categories.UnknownCategory):
        raise CommandError("not_found", f"No notification {notification_id}.") from None
    return {"id": notification_id, "counts": selectors.counts(user_id)}


def mark_all_read(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    category = params["category"]
    try:
        with transaction.atomic():
            marked = NotificationService.mark_all_notifications_read(user_id, category)
            # "All" on a socket means everything the user sees, broadcasts included.
            read = NotificationService.mark_all_broadcasts_read(user_id, category)
    except categories.UnknownCategory as error:
        raise CommandError("invalid_params", str(error)) from None
    return {"marked": marked, "broadcasts_marked": read, "counts": selectors.counts(user_id)}


def mark_seen(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    marked = NotificationService.mark_all_seen(user_id, up_to=params["up_to"])
    return {"marked": marked, "counts": selectors.counts(user_id)}


def archive(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _notification_change(NotificationService.archive_notification, user_id, params["id"])


def unarchive(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _notification_change(NotificationService.unarchive_notification, user_id, params["id"])


def snooze(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _snooze(user_id, params["id"], params["until"])


def unsnooze(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _snooze(user_id, params["id"], None)


def run_action(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    notification_id = params["id"]
    try:
        return NotificationService.run_action(notification_id, user_id, params["index"])
    except Notification.DoesNotExist:
        raise CommandError("not_found", f"No notification {notification_id}.") from None
    except ValidationError as error:
        raise CommandError("invalid_params", " ".join(error.messages)) from None


def archive_broadcast(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _broadcast_change(NotificationService.archive_broadcast, user_id, params["id"])


def unarchive_broadcast(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return _broadcast_change(NotificationService.unarchive_broadcast, user_id, params["id"])


def list_page(user_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """One page of the inbox, newest first; `before` is the last id of the previous page.

    The page holds at most `limit` notifications and as many as fit one frame: `has_more`
    says some were left out, and the next page starts before the last id returned.
    """
    queryset = selectors.notifications_for(
        user_id,
        category=params.get("category"),
        unread=params.get("unread"),
        archived=params.get("archived", False),
        snoozed=params.get("snoozed", False),
    )
    if params.get("before") is not None:
        queryset = queryset.filter(id__lt=params["before"])
    limit = params["limit"]
    rows = list(queryset[: limit + 1])
    serializer = NotificationSerializer()
    # A generator: rows past the budget are never serialised.
    page = within_bytes(
        (serializer.to_representation(row) for row in rows[:limit]),
        settings.NOTIFICATIONS_WS_MAX_MESSAGE_BYTES - REPLY_ENVELOPE_BYTES,
    )
    if rows and not page:
        # Only a row stored around the service's limits (notifications/sending/limits.py) is
        # this large: say which, so the client can read it over REST and list past it.
        raise CommandError(
            "too_large",
            f"Notification {rows[0].pk} is larger than a frame; read it over REST and "
            f"list from before={rows[0].pk}.",
        )
    return {"notifications": page, "has_more": len(rows) > len(page)}


def _notification_change(
    change: Callable[[int, int], object], user_id: int, notification_id: int
) -> dict[str, Any]:
    try:
        change(notification_id, user_id)
    except Notification.DoesNotExist:
        raise CommandError("not_found", f"No notification {notification_id}.") from None
    return {"id": notification_id, "counts": selectors.counts(user_id)}


def _snooze(user_id: int, notification_id: int, until: datetime | None) -> dict[str, Any]:
    """Snooze until `until`, or unsnooze when it is None."""
    try:
        if until is None:
            NotificationService.unsnooze_notification(notification_id, user_id)
        else:
            NotificationService.snooze_notification(notification_id, user_id, until)
    except Notification.DoesNotExist:
        raise CommandError("not_found", f"No notification {notification_id}.") from None
    except ValidationError as error:
        errors = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
        raise CommandError("invalid_params", errors) from None
    return {"id": notification_id, "counts": selectors.counts(user_id)}


def _broadcast_change(
    change: Callable[[int, int], object], user_id: int, broadcast_id: int
) -> dict[str, Any]:
    try:
        change(broadcast_id, user_id)
    except Broadcast.DoesNotExist:
        raise CommandError("not_found", f"No broadcast {broadcast_id}.") from None
    return {"id": broadcast_id, "broadcast_unread_count": selectors.broadcast_unread_count(user_id)}


Command = Callable[[int, dict[str, Any]], dict[str, Any]]

# The dispatch table: each action, the schema of its parameters, the function that runs it and
# the `event` of its reply frame. None runs nothing: `ping` is answered at once, without the
# database; `sync` is the replay itself, which the socket runs, and its `synced` frame.
COMMANDS: dict[str, tuple[type[drf.Serializer], Command | None, str]] = {
    "ping": (EmptyCommand, None, "pong"),
    "mark_read": (MarkReadCommand, mark_read, "mark_read"),
    "mark_all_read": (MarkAllReadCommand, mark_all_read, "mark_all_read"),
    "mark_seen": (MarkSeenCommand, mark_seen, "mark_seen"),
    "archive": (ArchiveCommand, archive, "archive"),
    "unarchive": (ArchiveCommand, unarchive, "unarchive"),
    "snooze": (SnoozeCommand, snooze, "snooze"),
    "unsnooze": (ArchiveCommand, unsnooze, "unsnooze"),
    "run_action": (RunActionCommand, run_action, "run_action"),
    "archive_broadcast": (ArchiveCommand, archive_broadcast, "archive_broadcast"),
    "unarchive_broadcast": (ArchiveCommand, unarchive_broadcast, "unarchive_broadcast"),
    "list": (ListCommand, list_page, "list"),
    "sync": (SyncCommand, None, "synced"),
}
# Tokens a command takes from the throttle: a replay or a page reads and sends many rows.
COMMAND_COSTS: dict[Any, float] = {"sync": 10.0, "list": 5.0}
