"""The `notify` and `broadcast` management commands."""

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from notifications.models import Broadcast, Level, Notification
from notifications.stream import events, publisher

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch) -> list[tuple[str, Any]]:
    """Every (group, layer message) the commands publish."""
    messages: list[tuple[str, Any]] = []
    monkeypatch.setattr(publisher, "publish", messages.extend)
    return messages


def run(*args: str) -> str:
    output = StringIO()
    call_command(*args, stdout=output)
    return output.getvalue().strip()


@pytest.mark.parametrize("reference", ["username", "id"])
def test_notify_stores_and_pushes(user, pushed, django_capture_on_commit_callbacks, reference):
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "notify",
            user.username if reference == "username" else str(user.id),
            "Invoice paid",
            "--category=payment",
            "--level=3",
            "--title=Paid",
        )

    notification = Notification.objects.get()
    assert output == str(notification.id)
    assert (notification.recipient, notification.category) == (user, "payment")
    assert (notification.level, notification.title) == (Level.HIGH, "Paid")
    # One push, to the user's group as the usage guide names it.
    assert [group for group, _ in pushed] == [f"notifications_{user.id}"]
    frame = json.loads(events.frame_text(pushed[0][1], "1:0"))
    assert (frame["event"], frame["id"]) == ("created", "1:0")
    assert frame["payload"]["notification"]["id"] == notification.id
    assert frame["payload"]["notification"]["message"] == "Invoice paid"
    assert frame["payload"]["counts"] == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"payment": {"unread": 1, "unseen": 1}},
    }


def test_notify_an_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="No user with username or id 'nobody'"):
        run("notify", "nobody", "Hello")


def test_notify_an_unknown_category_fails_clearly(user):
    with pytest.raises(CommandError, match="Unknown category"):
        run("notify", user.username, "Hello", "--category=nope")
    assert not Notification.objects.exists()


def test_broadcast_stores_and_pushes(db, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = run("broadcast", "Maintenance tonight", "--title=Heads up")

    broadcast = Broadcast.objects.get()
    assert output == str(broadcast.id)
    assert (broadcast.category, broadcast.title) == ("system", "Heads up")
    assert [group for group, _ in pushed] == [events.BROADCAST_GROUP]


def test_broadcast_an_unknown_category_fails_clearly(db):
    with pytest.raises(CommandError, match="Unknown category"):
        run("broadcast", "Hello", "--category=nope")


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/0"])
def test_notify_says_when_open_pages_get_it_only_at_the_heartbeat(
    user, pushed, settings, redis_url
):
    settings.REDIS_URL = redis_url
    errors = StringIO()

    call_command("notify", user.username, "Hello", stdout=StringIO(), stderr=errors)

    assert ("next heartbeat" in errors.getvalue()) == (not redis_url)
