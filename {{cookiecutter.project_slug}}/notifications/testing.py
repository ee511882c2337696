"""Helpers for your own tests: capture the notifications a block of code stores and pushes.

    from notifications.testing import capture_notifications

    def test_paying_notifies_the_customer(user):
        with capture_notifications() as sent:
            mark_paid(invoice)
        sent.assert_notified(user, message="Invoice 42 was paid")

Pushes leave after the transaction commits. Under pytest-django's `db` fixture the test's
transaction never commits, so the block runs the commit callbacks it queued when it ends, as
Django's `captureOnCommitCallbacks(execute=True)` does; with `transactional_db` they run at
each commit as in production. What is pushed is also sent on to the channel layer as usual.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Max
from django.test import TestCase

from notifications.models import Notification
from notifications.stream import events, publisher
from notifications.users import UserRef, user_id_of

# The events that bring a notification to a user's inbox.
ARRIVALS = ("created", "updated")


@dataclass(frozen=True)
class Push:
    """One frame sent to the channel layer: to a user (`user_id`), or to every user (None)."""

    user_id: int | None
    event: str
    payload: dict[str, Any]


@dataclass
class Captured:
    """What the block stored and pushed, and assertions on it."""

    after_id: int
    pushed: list[Push] = field(default_factory=list)

    @property
    def notifications(self) -> list[Notification]:
        """Every notification stored since the block began, oldest first."""
        return list(Notification.objects.filter(id__gt=self.after_id).order_by("id"))

    def notifications_for(self, user: UserRef) -> list[Notification]:
        user_id = user_id_of(user)
        return [row for row in self.notifications if row.recipient_id == user_id]

    def pushed_to(self, user: UserRef) -> list[Push]:
        user_id = user_id_of(user)
        return [push for push in self.pushed if push.user_id == user_id]

    def assert_notified(self, user: UserRef, **fields: Any) -> Notification:
        """Exactly one notification reached `user`, stored and pushed, with these fields.

        `fields` are compared with the notification as clients get it (the REST and
        WebSocket payload): `title`, `message`, `category`, `level`, `url`, `data`...
        """
        user_id = user_id_of(user)
        arrived = [
            push.payload["notification"]
            for push in self.pushed_to(user_id)
            if push.event in ARRIVALS
        ]
        if len(arrived) != 1:
            raise AssertionError(
                f"expected one notification pushed to user {user_id}, got {len(arrived)}: "
                f"{_summary(arrived)}"
            )
        pushed = arrived[0]
        differ = {
            name: (pushed.get(name, "<absent>"), wanted)
            for name, wanted in fields.items()
            if pushed.get(name, "<absent>") != wanted
        }
        if differ:
            raise AssertionError(f"notification {pushed['id']} differs (got, wanted): {differ}")
        stored = [row for row in self.notifications_for(user_id) if row.pk == pushed["id"]]
        if not stored:
            raise AssertionError(f"notification {pushed['id']} was pushed but is not stored")
        return stored[0]

    def assert_not_notified(self, user: UserRef) -> None:
        """Nothing reached `user`: no notification stored for them, none pushed."""
        user_id = user_id_of(user)
        stored = self.notifications_for(user_id)
        arrived = [push for push in self.pushed_to(user_id) if push.event in ARRIVALS]
        if stored or arrived:
            shown: list[Any] = [row.message for row in stored] or [p.payload for p in arrived]
            raise AssertionError(f"user {user_id} was notified: {_summary(shown)}")


@contextmanager
def capture_notifications(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[Captured]:
    """Record the notifications stored in the block and every frame pushed after commit."""
    latest = Notification.objects.using(using).aggregate(latest=Max("id"))["latest"]
    captured = Captured(after_id=latest or 0)
    send = publisher.publish

    def record(messages: list[tuple[str, dict[str, Any]]]) -> None:
        captured.pushed.extend(_push(group, message) for group, message in messages)
        send(messages)

    # The callbacks run as the inner block ends, while `publish` is still the recorder.
    with (
        mock.patch.object(publisher, "publish", record),
        TestCase.captureOnCommitCallbacks(using=using, execute=True),
    ):
        yield captured


def _push(group: str, message: dict[str, Any]) -> Push:
    """The frame a socket would send for a published message, decoded."""
    frame = json.loads(events.frame_text(message, str(message["position"])))
    own = message["stream"] == events.OWN
    # A user's group is events.user_group(<id>): the id is its last part.
    return Push(int(group.rsplit("_", 1)[1]) if own else None, frame["event"], frame["payload"])


def _summary(items: list[Any]) -> str:
    return json.dumps(items, default=str)[:2000]
