"""The notification payload, built by hand for speed, is what DRF's generic walk would build."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework import serializers

from notifications.serializers import NotificationSerializer
from notifications.services import NotificationService
from notifications.tests.factories import NotificationFactory, UserFactory

pytestmark = pytest.mark.django_db


def generic(row):
    """DRF's own to_representation over the serializer's declared fields."""
    return serializers.ModelSerializer.to_representation(NotificationSerializer(), row)


def test_every_kind_of_row_serialises_as_drf_would(user, other_user):
    now = timezone.now()
    target = Group.objects.create(name="a target without get_absolute_url")
    rows = [
        NotificationFactory(recipient=user),
        NotificationFactory(
            recipient=user,
            actor=other_user,
            read_at=now,
            seen_at=now,
            archived_at=now,
            expires_at=now + timedelta(days=1),
            data={"url": "/tasks/1/", "nested": {"a": [1, 2]}},
            level=3,
        ),
        NotificationService.create_notification(user, "linked", target=target, title="T"),
    ]
    for index in range(3):
        grouped = NotificationService.create_notification(
            user, f"comment {index}", actor=UserFactory(), group_key="task:1:comments"
        )
    rows.append(grouped)

    for row in rows:
        row.refresh_from_db()
        assert NotificationSerializer(row).data == generic(row)
    assert NotificationSerializer(grouped).data["actors"][0]["username"]
    assert NotificationSerializer(rows[2]).data["target"] == {
        "type": "auth.group",
        "id": str(target.pk),
    }
