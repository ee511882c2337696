"""Snooze: out of the inbox and the counts until a time, then back new and unread, pushed."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import jobs, selectors
from notifications.inbox import snooze
from notifications.models import Event, EventKind, Notification
from notifications.services import NotificationService
from notifications.tests.factories import NotificationFactory, UserFactory
from notifications.tests.racing import failures, in_threads, needs_postgresql
from notifications.tests.test_inbox_states import fresh_counts, inbox, run  # noqa: F401

pytestmark = pytest.mark.django_db

EMPTY = {"unread": 0, "unseen": 0, "by_category": {}}


def in_an_hour():
    return timezone.now() + timedelta(hours=1)


def test_snooze_takes_it_out_of_the_inbox_and_the_counts(user, inbox, run):  # noqa: F811
    notification = NotificationService.create_notification(user, "later", category="project")
    inbox.frames()
    until = in_an_hour()

    run(NotificationService.snooze_notification, notification.pk, user, until)

    assert list(selectors.notifications_for(user)) == []
    assert list(selectors.notifications_for(user, snoozed=True)) == [notification]
    assert selectors.counts(user) == EMPTY == fresh_counts(user)
    [frame] = inbox.frames()
    assert (frame["event"], frame["payload"]["ids"]) == ("snoozed", [notification.pk])
    assert frame["payload"]["notification"]["snoozed_until"] == frame["payload"]["until"]
    assert frame["payload"]["counts"] == EMPTY


def test_a_snoozed_item_is_not_in_the_archive_or_marked_read_by_mark_all(user, run):  # noqa: F811
    snoozed = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(snoozed.pk, user, in_an_hour())

    assert run(NotificationService.mark_all_notifications_read, user) == 0
    assert list(selectors.notifications_for(user, archived=True)) == []
    assert Notification.objects.get(pk=snoozed.pk).read_at is None


def test_snoozing_again_moves_the_time(user):
    notification = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())
    later = timezone.now() + timedelta(days=2)

    NotificationService.snooze_notification(notification.pk, user, later)

    assert Notification.objects.get(pk=notification.pk).snoozed_until == later
    assert selectors.counts(user) == EMPTY


@pytest.mark.parametrize(
    "offset",
    [timedelta(seconds=-1), timedelta(0), timedelta(days=365, seconds=1)],
    ids=["past", "now", "past-the-cap"],
)
def test_a_time_not_ahead_or_past_the_cap_is_refused(user, offset):
    notification = NotificationFactory(recipient=user)

    with pytest.raises(ValidationError) as raised:
        NotificationService.snooze_notification(notification.pk, user, timezone.now() + offset)

    assert "until" in raised.value.message_dict
    assert Notification.objects.get(pk=notification.pk).snoozed_until is None
    assert selectors.counts(user)["unread"] == 1


def test_the_cap_itself_is_allowed_and_follows_the_setting(user, settings):
    settings.NOTIFICATIONS_SNOOZE_MAX_DAYS = 2
    notification = NotificationFactory(recipient=user)
    cap = timezone.now() + timedelta(days=2)

    with pytest.raises(ValidationError):
        NotificationService.snooze_notification(notification.pk, user, cap + timedelta(seconds=1))
    NotificationService.snooze_notification(notification.pk, user, cap - timedelta(seconds=1))

    assert Notification.objects.get(pk=notification.pk).snoozed_until is not None


def test_a_naive_time_is_refused(user):
    notification = NotificationFactory(recipient=user)

    with pytest.raises(ValidationError):
        NotificationService.snooze_notification(
            notification.pk, user, (timezone.now() + timedelta(hours=1)).replace(tzinfo=None)
        )


def test_another_users_or_an_archived_notification_is_not_found(user, other_user):
    theirs = NotificationFactory(recipient=other_user)
    archived = NotificationFactory(recipient=user, archived_at=timezone.now())

    for pk, owner in ((theirs.pk, user), (archived.pk, user)):
        with pytest.raises(Notification.DoesNotExist):
            NotificationService.snooze_notification(pk, owner, in_an_hour())
    with pytest.raises(Notification.DoesNotExist):
        NotificationService.unsnooze_notification(theirs.pk, user)
    assert not Notification.objects.filter(snoozed_until__isnull=False).exists()


def test_unsnooze_brings_it_back_as_it_was(user, inbox, run):  # noqa: F811
    notification = NotificationFactory(recipient=user, seen_at=timezone.now())
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())
    inbox.frames()

    run(NotificationService.unsnooze_notification, notification.pk, user)

    assert list(selectors.notifications_for(user)) == [notification]
    [frame] = inbox.frames()
    assert frame["event"] == "unsnoozed"
    assert frame["payload"]["woke"] is False
    assert frame["payload"]["notification"]["id"] == notification.pk
    assert frame["payload"]["notification"]["is_seen"] is True
    assert frame["payload"]["counts"]["unread"] == 1
    assert frame["payload"]["counts"]["unseen"] == 0


def test_unsnoozing_what_is_not_snoozed_changes_and_sends_nothing(user, inbox, run):  # noqa: F811
    notification = NotificationFactory(recipient=user)

    run(NotificationService.unsnooze_notification, notification.pk, user)

    assert inbox.frames() == []


def test_the_wake_up_brings_it_back_new_and_unread_and_pushes_it(user, inbox, run):  # noqa: F811
    notification = NotificationFactory(
        recipient=user, read_at=timezone.now(), seen_at=timezone.now()
    )
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())
    early = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(early.pk, user, timezone.now() + timedelta(days=1))
    inbox.frames()

    assert run(snooze.wake_snoozed, now=timezone.now() + timedelta(minutes=59)) == 0
    assert run(snooze.wake_snoozed, now=timezone.now() + timedelta(hours=2)) == 1

    woken = Notification.objects.get(pk=notification.pk)
    assert (woken.snoozed_until, woken.read_at, woken.seen_at) == (None, None, None)
    assert list(selectors.notifications_for(user)) == [woken]
    assert list(selectors.notifications_for(user, snoozed=True)) == [early]
    [frame] = inbox.frames()
    assert (frame["event"], frame["payload"]["woke"]) == ("unsnoozed", True)
    assert frame["payload"]["notification"]["is_read"] is False
    assert frame["payload"]["counts"] == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"general": {"unread": 1, "unseen": 1}},
    }
    assert selectors.counts(user) == fresh_counts(user)


def test_the_wake_up_job_runs_the_service(user, settings):
    notification = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())
    Notification.objects.filter(pk=notification.pk).update(
        snoozed_until=timezone.now() - timedelta(seconds=1)
    )

    assert jobs.wake_snoozed.delay().get() == {"woke": 1}
    assert jobs.wake_snoozed.delay().get() == {"woke": 0}
    assert "wake-snoozed" in settings.CELERY_BEAT_SCHEDULE


def test_a_wake_up_is_replayed_to_a_client_that_was_away(user):
    notification = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())
    away_at = selectors.latest_position(user)

    snooze.wake_snoozed(now=timezone.now() + timedelta(hours=2))

    replay = selectors.events_after(user, away_at, limit=100)
    assert replay.recovered
    [(event, _)] = replay.events
    assert event.kind == EventKind.UNSNOOZED
    assert event.payload["notification"]["id"] == notification.pk


def test_archiving_a_snoozed_item_ends_its_snooze(user):
    notification = NotificationFactory(recipient=user)
    NotificationService.snooze_notification(notification.pk, user, in_an_hour())

    NotificationService.archive_notification(notification.pk, user)

    assert snooze.wake_snoozed(now=timezone.now() + timedelta(hours=2)) == 0
    assert list(selectors.notifications_for(user, archived=True)) == [notification]
    assert selectors.counts(user) == EMPTY == fresh_counts(user)


def test_a_new_notification_of_a_snoozed_groups_key_starts_a_new_group(user, other_user):
    first = NotificationService.create_notification(
        user, "one", actor=other_user, group_key="task:1"
    )
    NotificationService.snooze_notification(first.pk, user, in_an_hour())

    second = NotificationService.create_notification(
        user, "two", actor=other_user, group_key="task:1"
    )

    assert second.group_count == 1
    assert Notification.objects.get(pk=first.pk).snoozed_until is not None


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_wake_up_runs_and_unsnoozes_at_once_wake_each_item_once():
    """Four wake-up runs and four unsnoozes of the same items, released together."""
    users = UserFactory.create_batch(2)
    items = [NotificationFactory(recipient=users[index % 2]) for index in range(10)]
    for item in items:
        NotificationService.snooze_notification(item.pk, item.recipient, in_an_hour())
    # Due now, without waiting an hour.
    Notification.objects.update(snoozed_until=timezone.now() - timedelta(seconds=1))
    Event.objects.all().delete()

    def work(index: int) -> int:
        if index % 2:
            return snooze.wake_snoozed()
        for item in items:
            NotificationService.unsnooze_notification(item.pk, item.recipient_id)
        return 0

    results = in_threads(8, work)

    assert failures(results) == []
    woken = Event.objects.filter(kind=EventKind.UNSNOOZED)
    assert sorted(event.payload["ids"][0] for event in woken) == sorted(i.pk for i in items)
    assert not Notification.objects.filter(snoozed_until__isnull=False).exists()
    assert sum(results) == woken.filter(payload__woke=True).count()
    for user in users:
        assert selectors.counts(user) == fresh_counts(user)
