"""The wire format: every shape that crosses the wire, REST and WebSocket alike.

REST responses and query parameters, WebSocket frames and client commands all live here, so a
notification looks the same in a list, a live push and a replay.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from notifications import categories
from notifications.categories import MAX_NAME_LENGTH
from notifications.models import Broadcast, EventKind, Notification
from notifications.reader import languages
from notifications.stream.positions import InvalidPosition, Position

# The largest value of a BigAutoField on every supported database.
MAX_ID = 2**63 - 1
# Longest `url` a notification shows, as JSON: a longer link is not shown, so the link (taken
# from data or the target) cannot carry a payload's size twice.
MAX_URL_BYTES = 2048


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="get_username")


class GroupActorSerializer(serializers.Serializer):
    """An actor as a group keeps it: stored with the row, so listing it needs no query."""

    id = serializers.IntegerField()
    username = serializers.CharField()


def _is_safe_link(url: object) -> bool:
    """An http(s) URL or a path on this site: never `javascript:` or another scheme."""
    if not isinstance(url, str) or len(dumps(url)) > MAX_URL_BYTES:
        return False
    if url.startswith("/") and not url.startswith("//"):
        return True
    return url.startswith(("https://", "http://"))


# How every date of a notification is written (ISO 8601, UTC as "Z"), as DRF writes a model's.
_DATES = serializers.DateTimeField()


def _date(value: datetime | None) -> str | None:
    return None if value is None else _DATES.to_representation(value)


def notification_url(notification: Notification) -> str | None:
    """Where an item leads: its target's get_absolute_url(), else data["url"], else None."""
    content_type = notification.target_content_type
    model = content_type.model_class() if content_type else None
    # Only a model with get_absolute_url costs the query that loads the target.
    if model is not None and hasattr(model, "get_absolute_url"):
        target = notification.target
        if target is not None:
            url = str(target.get_absolute_url())
            return url if len(dumps(url)) <= MAX_URL_BYTES else None
    link = notification.data.get("url") if isinstance(notification.data, dict) else None
    return link if _is_safe_link(link) else None


class NotificationSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(read_only=True, allow_null=True)
    target = serializers.SerializerMethodField()
    # Where the item leads: the target's get_absolute_url(), else data["url"], else null.
    url = serializers.SerializerMethodField()
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)
    is_seen = serializers.BooleanField(read_only=True)
    # The latest actors of a group, newest first (the actor alone when not grouped).
    actors = GroupActorSerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "category",
            "level",
            "level_label",
            "title",
            "message",
            "data",
            "actor",
            "actors",
            "target",
            "url",
            "created_at",
            "seen_at",
            "is_seen",
            "read_at",
            "is_read",
            "archived_at",
            "snoozed_until",
            "expires_at",
            "group_key",
            "group_count",
            "actions",
            "action_results",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        """The fields above, read directly: DRF's generic walk over them costs ten times
        more, and every push and every list serialises here. A test compares the two."""
        actor = instance.actor
        return {
            "id": instance.pk,
            "category": instance.category,
            "level": instance.level,
            "level_label": str(instance.get_level_display()),
            "title": instance.title,
            "message": instance.message,
            "data": instance.data,
            "actor": None if actor is None else {"id": actor.pk, "username": actor.get_username()},
            "actors": [
                {"id": int(entry["id"]), "username": str(entry["username"])}
                for entry in instance.actors
            ],
            "target": self.get_target(instance),
            "url": self.get_url(instance),
            "created_at": _date(instance.created_at),
            "seen_at": _date(instance.seen_at),
            "is_seen": instance.is_seen,
            "read_at": _date(instance.read_at),
            "is_read": instance.is_read,
            "archived_at": _date(instance.archived_at),
            "snoozed_until": _date(instance.snoozed_until),
            "expires_at": _date(instance.expires_at),
            "group_key": instance.group_key,
            "group_count": instance.group_count,
            "actions": instance.actions,
            "action_results": instance.action_results,
        }

    def get_target(self, notification: Notification) -> dict[str, str] | None:
        if notification.target_content_type_id is None:
            return None
        content_type = notification.target_content_type
        return {
            "type": f"{content_type.app_label}.{content_type.model}" if content_type else "",
            "id": str(notification.target_object_id),
        }

    def get_url(self, notification: Notification) -> str | None:
        return notification_url(notification)


class BroadcastSerializer(serializers.ModelSerializer):
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    # Annotated per user by selectors.broadcasts_for; absent on a freshly created broadcast.
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)
    is_read = serializers.BooleanField(read_only=True, default=False)
    archived_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "category",
            "level",
            "level_label",
            "title",
            "message",
            "data",
            "created_at",
            "expires_at",
            "read_at",
            "is_read",
            "archived_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Broadcast) -> dict[str, Any]:
        # The reader's language, when the broadcast was stored in several (reader/languages.py).
        return languages.localized(super().to_representation(instance))


class ListQuerySerializer(serializers.Serializer):
    """Filters shared by every list endpoint and the WebSocket `list` command."""

    category = serializers.CharField(required=False, max_length=MAX_NAME_LENGTH)
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    # Capped at the largest id a database can hold: a larger number would fail in the query.
    since = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)

    def validate_category(self, value: str) -> str:
        if not categories.is_registered(value):
            names = ", ".join(category.name for category in categories.all_categories())
            raise serializers.ValidationError(f"Unknown category {value!r}; one of: {names}.")
        return value


class NotificationListQuerySerializer(ListQuerySerializer):
    """The filters of notification and broadcast lists: the inbox, the archive with
    `archived=true`, or the snoozed notifications with `snoozed=true`."""

    archived = serializers.BooleanField(required=False, default=False)
    snoozed = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("archived") and attrs.get("snoozed"):
            raise serializers.ValidationError("archived and snoozed are two lists: ask for one.")
        return attrs


class CategoryCountsSerializer(serializers.Serializer):
    unread = serializers.IntegerField(min_value=0)
    unseen = serializers.IntegerField(min_value=0)


class CountsSerializer(serializers.Serializer):
    """A user's exact counts, as `counts/` answers and every event frame carries them.

    Over the inbox: archived and expired notifications are not counted.
    """

    unread = serializers.IntegerField(min_value=0)
    unseen = serializers.IntegerField(min_value=0)
    by_category = serializers.DictField(child=CategoryCountsSerializer())


class MarkSeenSerializer(serializers.Serializer):
    """`mark_all_seen/` and the `mark_seen` command: everything, or up to an id shown."""

    up_to = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="Mark only notifications with this id or lower; all when absent.",
    )


class ArchiveAllQuerySerializer(serializers.Serializer):
    read = serializers.BooleanField(
        required=False, default=False, help_text="true: archive only the read notifications."
    )


class SeenSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications this call marked seen.")


class ArchivedSerializer(serializers.Serializer):
    archived = serializers.IntegerField(help_text="How many notifications this call archived.")


@extend_schema_field(OpenApiTypes.STR)
class PositionField(serializers.Field):  # type: ignore[type-arg]
    """A stream position as the server handed it out ("12:3"), or "0" for the start."""

    def to_internal_value(self, data: Any) -> Position:
        if isinstance(data, bool) or not isinstance(data, str | int) or len(str(data)) > 40:
            raise serializers.ValidationError('Must be a position string such as "12:3".')
        try:
            return Position.parse(data)
        except InvalidPosition as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value: Any) -> str:
        return str(value)


SINCE_HELP = (
    'The last position seen ("12:3"); "0" for none. A position ahead of the newest event is a '
    "400: positions come from this server, never from the client's count."
)
# What Position.parse accepts, for the schema.
POSITION_SCHEMA_PATTERN = r"^(0|[0-9]{1,18}:[0-9]{1,18})$"


class StreamQuerySerializer(serializers.Serializer):
    since = PositionField(help_text=SINCE_HELP)


class EventFrameSerializer(serializers.Serializer):
    """One event of the stream, exactly as a socket receives it."""

    type = serializers.CharField()
    event = serializers.ChoiceField(choices=EventKind.choices)
    id = serializers.CharField(help_text="The position after this event: an opaque string.")
    payload = serializers.DictField()


class StreamSerializer(serializers.Serializer):
    events = EventFrameSerializer(many=True)
    recovered = serializers.BooleanField(
        help_text="False: the position is past the replay cap or retention; reload over REST."
    )
    last_id = serializers.CharField(help_text="The position to ask from next time.")
    has_more = serializers.BooleanField(
        help_text="True: more events follow; ask again from `last_id` at once."
    )


class CategoryUnreadSerializer(serializers.Serializer):
    category = serializers.CharField()
    # DRF's metaclass moves declared fields off the class, so Field.label is not overridden.
    label = serializers.CharField()  # type: ignore[assignment]
    unread_count = serializers.IntegerField()


class UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()
    broadcast_unread_count = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications this call marked read.")


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: "yes", 1 or "false" are a 400, not a guess."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class PreferenceSerializer(serializers.Serializer):
    """One category's channels for the user; `mandatory` ones cannot change."""

    category = serializers.CharField()
    # DRF's metaclass moves declared fields off the class, so Field.label is not overridden.
    label = serializers.CharField()  # type: ignore[assignment]
    in_app = serializers.BooleanField(help_text="Stored in the inbox and pushed live.")
    email = serializers.BooleanField(help_text="Included in the email digest while unread.")
    push = serializers.BooleanField(help_text="Sent by Web Push to the browsers subscribed.")
    mandatory = serializers.BooleanField()


class PreferenceChangeSerializer(serializers.Serializer):
    """One entry of a PUT or PATCH to `notifications/preferences/`."""

    category = serializers.CharField(max_length=MAX_NAME_LENGTH)
    in_app = StrictBooleanField(required=False)
    email = StrictBooleanField(required=False)
    push = StrictBooleanField(required=False)

    validate_category = ListQuerySerializer.validate_category


class TicketSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="One-time ticket: connect with ws/notifications/?uuid=")


# WebSocket client commands ------------------------------------------------------------------
# Most notifications one `list` command returns.
MAX_LIST_LIMIT = 100


class MarkReadCommand(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    category = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=MAX_NAME_LENGTH
    )


class MarkAllReadCommand(serializers.Serializer):
    # Bounded: an unknown category's error names it, and every reply must fit one frame.
    category = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=MAX_NAME_LENGTH
    )


class MarkSeenCommand(MarkSeenSerializer):
    pass


class ArchiveCommand(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class SnoozeCommand(ArchiveCommand):
    until = serializers.DateTimeField()


class RunActionCommand(ArchiveCommand):
    index = serializers.IntegerField(min_value=0, max_value=1)


class ActionResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    result = serializers.DictField(help_text="What the action's handler returned.")
    done_at = serializers.DateTimeField()
    # False when an earlier run had done it: the stored result, the handler not called again.
    ran = serializers.BooleanField()


class SnoozeSerializer(serializers.Serializer):
    """The body of a snooze: when the notification comes back."""

    until = serializers.DateTimeField(help_text="ISO 8601; in the future, within the cap.")


class ListCommand(NotificationListQuerySerializer):
    before = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=MAX_LIST_LIMIT
    )


class SyncCommand(serializers.Serializer):
    """A stream position: the last one the client was given, "0" for none."""

    since = PositionField()


class EmptyCommand(serializers.Serializer):
    pass


# WebSocket frames ---------------------------------------------------------------------------
# Server to client: {"type", "event", "payload"}; stream events also carry their "id".
Frame = dict[str, Any]
# Stand in for a socket's own values in a frame serialised once for many (see split_frame).
_POSITION_SLOT = "\u0000position\u0000"
_COUNTS_SLOT = "\u0000counts\u0000"


def frame(kind: str, event: str, payload: dict[str, Any]) -> Frame:
    return {"type": kind, "event": event, "payload": payload}


def event_frame(position: str, kind: str, payload: dict[str, Any], counts: Any) -> Frame:
    """A stream event: `type` stays "notifications", so a dj_notif client reads it as before."""
    return {
        "type": "notifications",
        "event": kind,
        "id": position,
        "payload": {**payload, "counts": counts},
    }


def error_frame(code: str, message: str, request_id: Any = None) -> Frame:
    return frame("error", code, {"code": code, "message": message, "request_id": request_id})


def reply_frame(action: str, payload: dict[str, Any], request_id: Any) -> Frame:
    return frame("reply", action, {**payload, "request_id": request_id})


def synced_frame(*, recovered: bool, count: int, request_id: Any = None) -> Frame:
    payload: dict[str, Any] = {"recovered": recovered, "count": count}
    if request_id is not None:
        payload["request_id"] = request_id
    return frame("connection", "synced", payload)


def unavailable_frame() -> Frame:
    return error_frame("unavailable", "The server cannot deliver notifications now; retry.")


def within_bytes(items: Iterable[Any], budget: int) -> list[Any]:
    """The longest prefix of `items` whose JSON list fits in `budget` bytes."""
    # The opening bracket, then each item with the comma or closing bracket after it.
    kept, used = [], 1
    for item in items:
        used += len(dumps(item).encode()) + 1
        if used > budget:
            break
        kept.append(item)
    return kept


def dumps(value: Any) -> str:
    """JSON text of a frame; compact, since every byte goes to every socket."""
    return json.dumps(value, separators=(",", ":"), default=str)


def split_frame(kind: str, payload: dict[str, Any], counts: Any = _COUNTS_SLOT) -> list[str]:
    """An event frame serialised once, cut where each socket puts its own values.

    The position is the socket's own (it names the broadcasts' stream and the user's), so
    every event frame is `parts[0] + position + parts[1]`; a frame for every user (a
    broadcast) also takes the user's counts: `... + parts[1] + counts + parts[2]`. A
    broadcast to 10,000 sockets is serialised once, not 10,000 times.
    """
    text = dumps(event_frame(_POSITION_SLOT, kind, payload, counts))
    head, rest = text.split(dumps(_POSITION_SLOT))
    if counts is not _COUNTS_SLOT:
        return [head, rest]
    middle, tail = rest.split(dumps(_COUNTS_SLOT))
    return [head, middle, tail]


# One instance of each for every push: a serializer builds its fields when first used, which
# costs more than representing a row, so pushes reuse one set of fields instead of building
# them per call. Representing a row does not change the instance.
_NOTIFICATION = NotificationSerializer()
_BROADCAST = BroadcastSerializer()


def notification_payloads(notifications: list[Notification]) -> list[dict[str, Any]]:
    """The `notification` payload of each row, as a list shows it."""
    return [dict(_NOTIFICATION.to_representation(row)) for row in notifications]


def copies_payloads(copies: list[Notification]) -> list[dict[str, Any]]:
    """The payloads of rows that are copies of one notification for many recipients.

    Such rows differ only by id (the recipient is not in the payload), so the first is
    serialised and the rest take its payload with their own id: a fan-out to 10,000 users
    serialises once, not 10,000 times.
    """
    if not copies:
        return []
    first = notification_payloads(copies[:1])[0]
    return [{**first, "id": row.pk} for row in copies]


def broadcast_payload(broadcast: Broadcast) -> dict[str, Any]:
    return dict(_BROADCAST.to_representation(broadcast))
