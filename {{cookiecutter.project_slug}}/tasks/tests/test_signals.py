"""Which saves notify whom: the rules of signals.py, exercised through the services."""

import json
from collections.abc import Callable

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from tasks import services
from tasks.models import Comment, Task
from tasks.tests.factories import TaskFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol():
    return UserFactory(username="carol")


def received(user) -> list[tuple[str, str]]:
    """(category, kind) of each notification the user received, oldest first."""
    rows = Notification.objects.filter(recipient=user).order_by("id")
    return [(row.category, row.data["kind"]) for row in rows]


# Tasks ------------------------------------------------------------------------------------


def test_creating_an_assigned_task_notifies_the_assignee(user, other_user):
    task = services.create_task(actor=user, title="Write docs", assignee=other_user)

    notification = Notification.objects.get(recipient=other_user)
    assert notification.category == "task"
    assert notification.title == "alice assigned you Write docs"
    assert notification.actor == user
    assert notification.target == task
    assert notification.data == {"kind": "task_created", "task_id": task.pk}
    assert "Write docs" in notification.message
    assert received(user) == []


@pytest.mark.parametrize("assign_to_self", [True, False])
def test_creating_a_task_without_another_assignee_notifies_nobody(user, assign_to_self):
    services.create_task(actor=user, title="Mine", assignee=user if assign_to_self else None)

    assert not Notification.objects.exists()


def test_reassigning_notifies_only_the_new_assignee(user, other_user, carol):
    task = services.create_task(actor=user, title="Review", assignee=other_user)

    services.update_task(task, actor=user, assignee=carol)

    assert received(carol) == [("task", "task_assigned")]
    assert received(other_user) == [("task", "task_created")]
    assert received(user) == []
    assert Notification.objects.get(recipient=carol).actor == user


def test_taking_a_task_yourself_notifies_nobody(user, other_user):
    task = services.create_task(actor=user, title="Open task")

    services.update_task(task, actor=other_user, assignee=other_user)

    assert not Notification.objects.exists()


def test_editing_other_fields_notifies_nobody(user, other_user):
    task = services.create_task(actor=user, title="Draft", assignee=other_user)

    services.update_task(task, actor=user, title="Final", description="Longer")

    assert received(other_user) == [("task", "task_created")]


def test_status_change_notifies_creator_and_assignee_but_not_the_actor(user, other_user, carol):
    task = services.create_task(actor=user, title="Ship", assignee=other_user)

    services.update_task(task, actor=other_user, status=Task.Status.IN_PROGRESS)
    assert received(user) == [("task", "task_updated")]
    assert received(other_user) == [("task", "task_created")]

    services.update_task(task, actor=carol, status=Task.Status.TODO)
    assert received(user)[-1] == ("task", "task_updated")
    assert received(other_user)[-1] == ("task", "task_updated")
    assert received(carol) == []


def test_completing_a_task_notifies_task_completed(user, other_user):
    task = services.create_task(actor=user, title="Ship", assignee=other_user)

    services.update_task(task, actor=other_user, status=Task.Status.DONE)

    notification = Notification.objects.get(recipient=user)
    assert notification.title == "bob completed Ship"
    assert notification.data["kind"] == "task_completed"
    assert notification.actor == other_user
    assert notification.target == task


def test_one_action_notifies_each_person_once(user, other_user, carol):
    task = services.create_task(actor=user, title="Hand over", assignee=other_user)

    services.update_task(task, actor=other_user, assignee=carol, status=Task.Status.IN_PROGRESS)

    assert received(carol) == [("task", "task_assigned")]
    assert received(user) == [("task", "task_updated")]
    assert received(other_user) == [("task", "task_created")]


def test_a_save_outside_the_services_notifies_the_same_way(user, other_user):
    task = TaskFactory(created_by=user)

    task.assignee = other_user
    task.save()

    assert received(other_user) == [("task", "task_assigned")]


def test_update_task_rejects_fields_it_does_not_own(user):
    task = services.create_task(actor=user, title="Guarded")

    with pytest.raises(TypeError, match="created_by"):
        services.update_task(task, actor=user, created_by=user)  # type: ignore[call-arg]


def test_a_save_reads_the_stored_state_kept_at_load_without_a_query(user, other_user):
    TaskFactory(created_by=user, title="Loaded")
    task = Task.objects.get(title="Loaded")
    task.assignee = other_user

    with CaptureQueriesContext(connection) as queries:
        task.save(update_fields=["assignee"])

    assert not any(
        query["sql"].startswith("SELECT") and "tasks_task" in query["sql"]
        for query in queries.captured_queries
    )
    assert received(other_user) == [("task", "task_assigned")]


def test_a_task_loaded_without_its_state_notifies_nobody(user, other_user):
    TaskFactory(created_by=user, title="Partly loaded")
    task = Task.objects.only("title").get()

    task.assignee = other_user
    task.save()

    assert received(other_user) == []


# Comments ---------------------------------------------------------------------------------


def test_a_comment_notifies_creator_and_assignee_with_reply(user, other_user, carol):
    task = services.create_task(actor=user, title="Plan", assignee=other_user)

    comment = services.add_comment(task, actor=carol, body="Looks good")

    for person in (user, other_user):
        notification = Notification.objects.filter(recipient=person, category="comment").get()
        assert notification.title == "carol commented on Plan"
        assert notification.message == "Looks good"
        assert notification.actor == carol
        assert notification.target == comment
        assert notification.data == {
            "kind": "comment",
            "task_id": task.pk,
            "comment_id": comment.pk,
        }
        assert notification.group_key == f"task:{task.pk}:comments"
    assert received(carol) == []


def test_comments_on_one_task_fold_into_one_notification_per_recipient(user, other_user, carol):
    task = services.create_task(actor=user, title="Fix login", assignee=other_user)
    other_task = services.create_task(actor=user, title="Other", assignee=other_user)

    services.add_comment(task, actor=carol, body="First")
    services.add_comment(task, actor=other_user, body="Second")
    services.add_comment(task, actor=carol, body="Third")
    services.add_comment(other_task, actor=carol, body="Elsewhere")

    [elsewhere, group] = Notification.objects.filter(recipient=user, category="comment")
    assert (group.group_count, group.title, group.message) == (
        3,
        "carol and bob commented on Fix login",
        "Third",
    )
    assert [actor["username"] for actor in group.actors] == ["carol", "bob"]
    assert elsewhere.group_count == 1
    # Bob wrote the second comment, so his group holds the first and the third.
    bobs = Notification.objects.get(recipient=other_user, group_key=f"task:{task.pk}:comments")
    assert bobs.group_count == 2
    # Two comments by one person: the title counts people.
    assert bobs.title == "carol commented on Fix login"


def test_a_long_task_title_is_cut_to_fit_the_notification_title(user, other_user):
    task = services.create_task(actor=user, title="x" * 200, assignee=other_user)

    notification = Notification.objects.get(recipient=other_user)

    assert len(notification.title) == 200
    assert notification.title.endswith("\u2026")
    assert notification.target == task


def test_a_comment_of_emoji_is_cut_to_what_a_notification_may_carry(user, other_user):
    """5,000 emoji make 60 KB as JSON: the notification takes what fits one frame."""
    task = services.create_task(actor=user, title="\U0001f600" * 200, assignee=other_user)

    services.add_comment(task, actor=other_user, body="\U0001f600" * 5000)

    assigned = Notification.objects.get(recipient=other_user)
    comment = Notification.objects.get(recipient=user, category="comment")
    assert comment.message == "\U0001f600" * 999 + "\u2026", "as many as 12,000 bytes hold"
    assert assigned.title.endswith("\U0001f600\u2026")
    assert len(json.dumps(assigned.title)) - 2 <= 1200


def test_the_author_of_a_comment_is_not_notified(user, other_user):
    task = services.create_task(actor=user, title="Plan", assignee=other_user)

    services.add_comment(task, actor=user, body="Note to self")

    assert received(user) == []
    assert received(other_user)[-1] == ("comment", "comment")


def test_a_mention_notifies_the_user_once_with_category_mention(user, other_user):
    task = services.create_task(actor=user, title="Plan", assignee=other_user)

    comment = services.add_comment(task, actor=other_user, body="@alice, thoughts? @alice")

    # The creator is mentioned, so gets the mention instead of the reply.
    assert received(user) == [("mention", "mention")]
    assert Notification.objects.get(recipient=user).target == comment


def test_a_mention_of_someone_who_cannot_see_the_task_notifies_nobody(user, other_user, carol):
    task = services.create_task(actor=user, title="Plan", assignee=other_user)

    services.add_comment(task, actor=other_user, body="@carol, look at this")

    assert received(carol) == []
    assert received(user) == [("comment", "comment")]


def test_a_mention_of_a_teammate_of_the_tasks_people_notifies_them(user, other_user, carol):
    TeamFactory(members=[other_user, carol])
    task = TaskFactory(created_by=user, assignee=other_user)

    services.add_comment(task, actor=other_user, body="@carol can you look?")

    assert received(carol) == [("mention", "mention")]


def test_mentioning_an_unknown_user_or_yourself_is_ignored(user, other_user):
    task = services.create_task(actor=user, title="Plan", assignee=other_user)

    services.add_comment(task, actor=other_user, body="@nobody, ping @bob @bob")

    assert received(other_user) == [("task", "task_created")]
    assert received(user) == [("comment", "comment")]
    assert not Notification.objects.filter(category="mention").exists()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("hi @carol.", ["carol"]),
        ("(@carol), @alice!", ["carol", "alice"]),
        ("mail alice@carol", []),
        ("@@carol", []),
        ("no mention", []),
    ],
)
def test_mentions_are_read_from_the_text(user, carol, body, names):
    by_name = {"alice": user.pk, "carol": carol.pk}

    assert sorted(services.mentioned_user_ids(body)) == sorted(by_name[name] for name in names)


# Transactions and deletion ----------------------------------------------------------------


def test_a_committed_save_pushes_after_commit(user, other_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.create_task(actor=user, title="Pushed", assignee=other_user)

    assert callbacks


def save_then_fail(save: Callable[[], object]) -> None:
    """Run `save` in a transaction that then fails and rolls back."""
    with transaction.atomic():
        save()
        raise RuntimeError("failed after the save")


def test_a_rolled_back_task_save_notifies_nobody(
    user, other_user, django_capture_on_commit_callbacks
):
    task = services.create_task(actor=user, title="Ship")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        save_then_fail(
            lambda: services.update_task(
                task, actor=user, assignee=other_user, status=Task.Status.DONE
            )
        )

    assert not Notification.objects.exists()
    assert callbacks == []


def test_a_rolled_back_comment_notifies_nobody(
    user, other_user, django_capture_on_commit_callbacks
):
    task = TaskFactory(created_by=user, assignee=other_user)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        save_then_fail(lambda: services.add_comment(task, actor=user, body="@bob rolled back"))

    assert not Comment.objects.exists()
    assert not Notification.objects.exists()
    assert callbacks == []


def test_deleting_a_task_keeps_its_notifications_readable(user, other_user, other_client):
    task = services.create_task(actor=user, title="Short-lived", assignee=other_user)
    services.add_comment(task, actor=user, body="Before it goes")
    url = reverse("notifications:user-list")
    before = other_client.get(url).json()["results"]

    task.delete()

    after = other_client.get(url).json()["results"]
    assert [item["id"] for item in after] == [item["id"] for item in before]
    assert {item["data"]["kind"] for item in after} == {"task_created", "comment"}
    assert all(notification.target is None for notification in Notification.objects.all())
