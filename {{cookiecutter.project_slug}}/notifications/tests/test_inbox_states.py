"""Seen, archived, grouped and expiring notifications: the services, their events and counts."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.utils import timezone

from notifications import selectors
from notifications.inbox.deletion import prune_expired
from notifications.models import (
    MAX_GROUP_KEY_LENGTH,
    Broadcast,
    Event,
    EventKind,
    Notification,
)
from notifications.sending import limits
from notifications.sending.grouping import MAX_GROUP_ACTORS
from notifications.sending.limits import ContentTooLarge
from notifications.services import NotificationService
from notifications.stream import events, upkeep
from notifications.tests.factories import BroadcastFactory, NotificationFactory, UserFactory
from notifications.tests.test_services import Inbox

pytestmark = pytest.mark.django_db

KEY = "task:42:comments"


def fresh_counts(user: Any) -> dict[str, Any]:
    """The counts computed row by row in Python: what the one-query counts must equal."""
    now = timezone.now()
    counts: dict[str, Any] = {"unread": 0, "unseen": 0, "by_category": {}}
    for row in Notification.objects.filter(recipient=user):
        expired = row.expires_at is not None and row.expires_at <= now
        if row.deleted_at or row.archived_at or row.snoozed_until or expired:
            continue
        unread, unseen = int(row.read_at is None), int(row.seen_at is None)
        if not (unread or unseen):
            continue
        counts["unread"] += unread
        counts["unseen"] += unseen
        category = counts["by_category"].setdefault(row.category, {"unread": 0, "unseen": 0})
        category["unread"] += unread
        category["unseen"] += unseen
    return counts


@pytest.fixture
def inbox(user) -> Iterator[Inbox]:
    yield Inbox(events.user_group(user.id))
    async_to_sync(get_channel_layer().flush)()


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> Callable[..., Any]:
    """Runs a write and its on-commit pushes, as a committed request would."""

    def run_committed(write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run_committed


def group(user: Any, actor: Any, message: str = "commented", **options: Any) -> Notification:
    return NotificationService.create_notification(
        user, message, actor=actor, group_key=KEY, category="project", **options
    )


# Seen -----------------------------------------------------------------------------------


def test_mark_all_seen_marks_the_inbox_and_sends_seen(user, inbox, run):
    first, second = NotificationFactory.create_batch(2, recipient=user)
    archived = NotificationFactory(recipient=user, archived_at=timezone.now())

    marked = run(NotificationService.mark_all_seen, user)

    assert marked == 2
    assert Notification.objects.filter(pk__in=[first.pk, second.pk], seen_at=None).count() == 0
    assert Notification.objects.get(pk=archived.pk).seen_at is None
    [frame] = inbox.frames()
    assert frame["event"] == "seen"
    assert frame["payload"]["up_to_id"] == second.pk
    assert frame["payload"]["counts"]["unseen"] == 0
    # Seen is not read: the bell is cleared, the items stay unread.
    assert frame["payload"]["counts"]["unread"] == 2


def test_mark_all_seen_up_to_an_id_leaves_newer_ones_unseen(user, inbox, run):
    first, second = NotificationFactory.create_batch(2, recipient=user)

    assert run(NotificationService.mark_all_seen, user, up_to=first.pk) == 1

    assert Notification.objects.get(pk=first.pk).seen_at is not None
    assert Notification.objects.get(pk=second.pk).seen_at is None
    [frame] = inbox.frames()
    assert frame["payload"]["counts"]["unseen"] == 1


def test_mark_all_seen_with_nothing_unseen_sends_nothing(user, inbox, run):
    NotificationFactory(recipient=user, seen_at=timezone.now())

    assert run(NotificationService.mark_all_seen, user) == 0

    assert inbox.frames() == []


def test_mark_all_read_also_marks_seen(user, run):
    seen_before = timezone.now() - timedelta(hours=1)
    kept = NotificationFactory(recipient=user, seen_at=seen_before)
    fresh = NotificationFactory(recipient=user)

    run(NotificationService.mark_all_notifications_read, user)

    assert Notification.objects.get(pk=kept.pk).seen_at == seen_before
    assert Notification.objects.get(pk=fresh.pk).seen_at is not None


# Archived -------------------------------------------------------------------------------


def test_archive_moves_a_notification_to_the_archive(user, inbox, run):
    notification = NotificationFactory(recipient=user)

    run(NotificationService.archive_notification, notification.pk, user)

    assert list(selectors.notifications_for(user)) == []
    assert list(selectors.notifications_for(user, archived=True)) == [notification]
    [frame] = inbox.frames()
    assert (frame["event"], frame["payload"]["ids"]) == ("archived", [notification.pk])
    assert frame["payload"]["counts"] == {"unread": 0, "unseen": 0, "by_category": {}}


def test_archiving_twice_changes_and_sends_nothing_more(user, inbox, run):
    notification = NotificationFactory(recipient=user, archived_at=timezone.now())

    run(NotificationService.archive_notification, notification.pk, user)

    assert inbox.frames() == []


def test_unarchive_brings_it_back_whole(user, inbox, run):
    notification = NotificationFactory(recipient=user, archived_at=timezone.now())

    run(NotificationService.unarchive_notification, notification.pk, user)

    assert list(selectors.notifications_for(user)) == [notification]
    [frame] = inbox.frames()
    assert frame["event"] == "unarchived"
    assert frame["payload"]["notification"]["id"] == notification.pk
    assert frame["payload"]["notification"]["archived_at"] is None
    assert frame["payload"]["counts"]["unread"] == 1


@pytest.mark.parametrize(
    "write", [NotificationService.archive_notification, NotificationService.unarchive_notification]
)
def test_another_users_notification_cannot_be_archived(user, other_user, write):
    theirs = NotificationFactory(recipient=other_user)

    with pytest.raises(Notification.DoesNotExist):
        write(theirs.pk, user)

    assert Notification.objects.get(pk=theirs.pk).archived_at is None
    assert not Event.objects.exists()


@pytest.mark.parametrize(("read_only", "archived"), [(False, 3), (True, 1)])
def test_archive_all_or_only_the_read_ones(user, other_user, inbox, run, read_only, archived):
    read = NotificationFactory(recipient=user, read_at=timezone.now())
    NotificationFactory.create_batch(2, recipient=user)
    NotificationFactory(recipient=other_user)

    assert run(NotificationService.archive_all, user, read_only=read_only) == archived

    assert selectors.notifications_for(user, archived=True).count() == archived
    assert read in selectors.notifications_for(user, archived=True)
    assert Notification.objects.get(recipient=other_user).archived_at is None
    [frame] = inbox.frames()
    assert frame["event"] == "archived"
    assert frame["payload"]["read_only"] is read_only
    assert frame["payload"]["counts"] == fresh_counts(user)


# Grouping -------------------------------------------------------------------------------


def test_a_second_notification_of_a_key_updates_the_open_group(user, other_user, inbox, run):
    carol = UserFactory(username="carol")
    first = run(group, user, other_user, "bob commented", data={"comment_id": 1})
    run(NotificationService.mark_notification_read, first.pk, user)

    second = run(group, user, carol, "carol commented", data={"comment_id": 2})

    [row] = selectors.notifications_for(user)
    assert row.pk == second.pk > first.pk
    assert not Notification.objects.filter(pk=first.pk).exists()
    assert (row.group_count, row.message, row.data) == (2, "carol commented", {"comment_id": 2})
    assert row.actors == [
        {"id": carol.pk, "username": "carol"},
        {"id": other_user.pk, "username": "bob"},
    ]
    assert (row.read_at, row.seen_at) == (None, None)
    assert row.group_started_at == first.group_started_at
    frames = inbox.frames()
    assert [frame["event"] for frame in frames] == ["created", "read", "updated"]
    updated = frames[-1]["payload"]
    assert updated["replaces"] == first.pk
    assert updated["notification"]["group_count"] == 2
    assert updated["notification"]["actors"][0]["username"] == "carol"
    assert updated["counts"] == {
        "unread": 1,
        "unseen": 1,
        "by_category": {"project": {"unread": 1, "unseen": 1}},
    }


def test_a_group_keeps_the_latest_actors_each_once(user):
    actors = UserFactory.create_batch(MAX_GROUP_ACTORS + 2)
    for actor in [*actors, actors[0]]:
        group(user, actor)

    [row] = selectors.notifications_for(user)
    assert row.group_count == MAX_GROUP_ACTORS + 3
    assert [entry["id"] for entry in row.actors] == [
        actors[0].pk,
        *[actor.pk for actor in reversed(actors[-(MAX_GROUP_ACTORS - 1) :])],
    ]


def titled(user: Any, actor: Any, title: str | None = None) -> Notification:
    name = actor.get_username()
    return group(user, actor, "a comment", title=title or f"{name} commented on Fix login")


def test_a_groups_title_counts_people_not_notifications(user, other_user, inbox, run):
    carol, dave, erin = (UserFactory(username=name) for name in ("carol", "dave", "erin"))

    def title_after(actor: Any) -> str:
        stored = run(titled, user, actor)
        pushed = inbox.frames()[-1]["payload"]["notification"]["title"]
        assert pushed == stored.title, "the toast reads the stored title"
        return stored.title

    assert title_after(other_user) == "bob commented on Fix login"
    assert title_after(other_user) == "bob commented on Fix login"
    assert title_after(carol) == "carol and bob commented on Fix login"
    assert title_after(other_user) == "bob and carol commented on Fix login"
    assert title_after(dave) == "dave and 2 others commented on Fix login"
    assert title_after(erin) == "erin and 3 others commented on Fix login"
    [row] = selectors.notifications_for(user)
    assert row.group_count == 6


def test_a_group_past_its_kept_actors_has_others_and_an_untitled_actor_keeps_its_title(user):
    actors = UserFactory.create_batch(MAX_GROUP_ACTORS + 1)
    for actor in actors:
        titled(user, actor)

    [row] = selectors.notifications_for(user)
    newest = actors[-1].get_username()
    assert row.title == f"{newest} and others commented on Fix login"

    other = UserFactory(username="zed")
    titled(user, other, title="Build failed")
    [row] = selectors.notifications_for(user)
    assert row.title.startswith("Build failed (zed and ")


def test_a_groups_title_is_cut_to_the_title_limit(user, other_user):
    carol = UserFactory(username="carol")
    long = "x" * (limits.MAX_TITLE_LENGTH - len("carol commented on "))
    titled(user, other_user, title=f"bob commented on {long}"[: limits.MAX_TITLE_LENGTH])

    row = titled(user, carol, title=f"carol commented on {long}")

    assert len(row.title) == limits.MAX_TITLE_LENGTH
    assert row.title.startswith("carol and bob commented on xxx")
    assert Notification.objects.get(pk=row.pk).title == row.title


def test_groups_are_per_recipient_and_key(user, other_user):
    group(user, other_user)
    group(other_user, user)
    NotificationService.create_notification(user, "elsewhere", group_key="task:43:comments")
    NotificationService.create_notification(user, "ungrouped")

    assert selectors.notifications_for(user).count() == 3
    assert selectors.notifications_for(other_user).count() == 1


def test_a_group_past_its_window_is_closed_and_a_new_one_opens(user, other_user, settings):
    settings.NOTIFICATIONS_GROUP_WINDOW_SECONDS = 60
    first = group(user, other_user)
    Notification.objects.filter(pk=first.pk).update(
        group_started_at=timezone.now() - timedelta(seconds=61)
    )

    second = group(user, other_user)

    assert second.group_count == 1
    assert [row.pk for row in selectors.notifications_for(user)] == [second.pk, first.pk]
    assert Notification.objects.get(pk=first.pk).group_open is False


@pytest.mark.parametrize(
    "close",
    [
        NotificationService.archive_notification,
        NotificationService.delete_notification,
    ],
)
def test_an_archived_or_deleted_group_takes_no_more(user, other_user, close):
    first = group(user, other_user)
    close(first.pk, user)

    second = group(user, other_user)

    assert second.group_count == 1
    assert Notification.objects.filter(pk=first.pk).exists()


def test_notify_many_groups_in_bulk(user, other_user, django_assert_max_num_queries):
    recipients = [user, other_user, *UserFactory.create_batch(8)]
    actor = UserFactory(username="carol")
    NotificationService.notify_many(recipients[:5], "first", actor=actor, group_key=KEY)

    # Read the preferences, lock the open groups, delete the joined ones, insert the rows,
    # take the positions, insert the events, and the savepoints: a few statements per batch
    # of recipients, none per recipient.
    with django_assert_max_num_queries(11):
        created = NotificationService.notify_many(recipients, "second", actor=actor, group_key=KEY)

    assert sorted(row.group_count for row in created) == [1] * 5 + [2] * 5
    assert Notification.objects.count() == 10
    assert Event.objects.filter(kind=EventKind.UPDATED).count() == 5


def test_a_group_key_over_its_length_is_refused(user):
    with pytest.raises(ContentTooLarge, match="group_key: at most 100 characters"):
        NotificationService.create_notification(
            user, "x", group_key="k" * (MAX_GROUP_KEY_LENGTH + 1)
        )

    assert not Notification.objects.exists()


# Expiry ---------------------------------------------------------------------------------


def test_expired_notifications_leave_lists_and_counts(user):
    past = timezone.now() - timedelta(seconds=1)
    NotificationService.create_notification(user, "gone", expires_at=past)
    kept = NotificationService.create_notification(
        user, "kept", expires_at=timezone.now() + timedelta(days=1)
    )

    assert list(selectors.notifications_for(user)) == [kept]
    assert selectors.counts(user)["unread"] == 1
    assert selectors.unread_count(user) == 1
    assert selectors.counts(user) == fresh_counts(user)


def test_expired_broadcasts_leave_lists(user):
    NotificationService.broadcast("gone", expires_at=timezone.now() - timedelta(seconds=1))
    kept = NotificationService.broadcast("kept")

    assert list(selectors.broadcasts_for(user)) == [kept]
    assert selectors.broadcast_unread_count(user) == 1


def test_a_replay_leaves_out_items_expired_since(user):
    start = selectors.latest_position(user)
    # Their expiry passed after their events were stored: the events still carry them.
    past = timezone.now() - timedelta(seconds=1)
    NotificationService.create_notification(user, "expired", expires_at=past)
    NotificationService.broadcast("expired too", expires_at=past)
    kept = NotificationService.create_notification(
        user, "kept", expires_at=timezone.now() + timedelta(days=1)
    )

    replay = selectors.events_after(user, start, limit=10)

    assert replay.recovered
    assert [row.payload["notification"]["id"] for row, _ in replay.events] == [kept.pk]
    # The events left out still move the position: the client resumes after them.
    assert replay.position == selectors.latest_position(user)


def test_prune_deletes_expired_notifications_and_broadcasts(user):
    past = timezone.now() - timedelta(seconds=1)
    NotificationFactory.create_batch(2, recipient=user, expires_at=past)
    kept = NotificationFactory(recipient=user)
    BroadcastFactory(expires_at=past)
    live = BroadcastFactory()

    assert prune_expired() == 3

    assert list(Notification.objects.all()) == [kept]
    assert list(Broadcast.objects.all()) == [live]


def test_the_prune_command_also_deletes_expired_items(user, capsys):
    NotificationFactory(recipient=user, expires_at=timezone.now() - timedelta(seconds=1))

    call_command("prune_events")

    assert not Notification.objects.exists()
    assert "Deleted 1 expired" in capsys.readouterr().out


# Counts after every kind of event -------------------------------------------------------


def test_every_frame_carries_exact_counts(user, other_user, inbox, run):
    """After each kind of write, the pushed counts equal a fresh count, row by row."""
    soon = timezone.now() + timedelta(days=1)
    made: dict[str, Notification] = {}

    def create() -> None:
        made["plain"] = NotificationService.create_notification(
            user, "plain", category="payment", expires_at=soon
        )

    def regroup() -> None:
        made["group"] = group(user, other_user)

    def expire_then_create() -> None:
        # Its expiry moved to now outside the service: the recount stores what a create
        # with that expiry would have, so the counts leave it out until the expiry job runs.
        Notification.objects.filter(pk=made["plain"].pk).update(expires_at=timezone.now())
        upkeep.recount([user.pk])
        create()

    announcement = BroadcastFactory()

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("created", create),
        ("created", regroup),
        ("updated", regroup),
        ("read", lambda: NotificationService.mark_notification_read(made["plain"].pk, user)),
        ("unread", lambda: NotificationService.mark_notification_unread(made["plain"].pk, user)),
        ("seen", lambda: NotificationService.mark_all_seen(user)),
        ("read", lambda: NotificationService.mark_all_notifications_read(user)),
        ("archived", lambda: NotificationService.archive_notification(made["group"].pk, user)),
        ("unarchived", lambda: NotificationService.unarchive_notification(made["group"].pk, user)),
        ("archived", lambda: NotificationService.archive_all(user, read_only=True)),
        ("created", create),
        ("created", expire_then_create),
        ("broadcast_read", lambda: NotificationService.mark_broadcast_read(announcement.pk, user)),
        ("deleted", lambda: NotificationService.delete_notification(made["plain"].pk, user)),
    ]
    for kind, write in steps:
        run(write)
        [frame] = inbox.frames()
        assert frame["event"] == kind
        assert frame["payload"]["counts"] == fresh_counts(user), kind
        assert selectors.counts(user) == fresh_counts(user), kind
