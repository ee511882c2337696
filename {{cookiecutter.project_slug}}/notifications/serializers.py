"""Serializers of the REST API; NotificationSerializer is also the WebSocket payload."""

from rest_framework import serializers

from notifications import categories
from notifications.categories import MAX_NAME_LENGTH
from notifications.models import Broadcast, Notification

# The largest value of a BigAutoField on every supported database.
MAX_ID = 2**63 - 1


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="get_username")


class TargetSerializer(serializers.Serializer):
    type = serializers.SerializerMethodField()
    id = serializers.CharField(source="target_object_id")

    def get_type(self, notification: Notification) -> str:
        content_type = notification.target_content_type
        return f"{content_type.app_label}.{content_type.model}" if content_type else ""


class NotificationSerializer(serializers.ModelSerializer):
    actor = ActorSerializer(read_only=True, allow_null=True)
    target = serializers.SerializerMethodField()
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

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
            "target",
            "created_at",
            "read_at",
            "is_read",
        ]
        read_only_fields = fields

    def get_target(self, notification: Notification) -> dict[str, str] | None:
        if notification.target_content_type_id is None:
            return None
        return TargetSerializer(notification).data


class BroadcastSerializer(serializers.ModelSerializer):
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    # Annotated per user by selectors.broadcasts_for; absent on a freshly created broadcast.
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)
    is_read = serializers.BooleanField(read_only=True, default=False)

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
            "read_at",
            "is_read",
        ]
        read_only_fields = fields


class ListQuerySerializer(serializers.Serializer):
    """Filters shared by every list endpoint."""

    category = serializers.CharField(required=False, max_length=MAX_NAME_LENGTH)
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)
    # Capped at the largest id a database can hold: a larger number would fail in the query.
    since = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)

    def validate_category(self, value: str) -> str:
        if not categories.is_registered(value):
            names = ", ".join(category.name for category in categories.all_categories())
            raise serializers.ValidationError(f"Unknown category {value!r}; one of: {names}.")
        return value


class CategoryUnreadSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    unread_count = serializers.IntegerField()


class UnreadCountSerializer(serializers.Serializer):
    unread_count = serializers.IntegerField()
    broadcast_unread_count = serializers.IntegerField()


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications this call marked read.")


class TicketSerializer(serializers.Serializer):
    uuid = serializers.UUIDField(help_text="One-time ticket: connect with ws/notifications/?uuid=")
