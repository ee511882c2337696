"""Many people commenting on one task at once, on PostgreSQL: no comment fails or is lost.

Each thread has its own connection, and the threads start together. SQLite runs one write
transaction at a time, so the race exists only on PostgreSQL: these tests run when
DATABASE_URL points at one.
"""

import pytest
from django.db import connections

from notifications.models import Notification
from notifications.tests.racing import failures, in_threads, needs_postgresql
from tasks import services
from tasks.models import Comment
from tasks.tests.factories import TaskFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_postgresql]

WRITERS = 10
COMMENTS_EACH = 30


def test_ten_writers_commenting_on_one_task_store_every_comment_and_group_exactly(settings):
    settings.NOTIFICATIONS_GROUP_WINDOW_SECONDS = 3600
    creator = UserFactory(username="creator")
    assignee = UserFactory(username="assignee")
    task = TaskFactory(created_by=creator, assignee=assignee)
    # The task's two people comment too; every fifth comment mentions one of them.
    authors = [creator, assignee, *UserFactory.create_batch(WRITERS - 2)]
    key = f"task:{task.pk}:comments"

    def body(writer: int, number: int) -> str:
        if number % 5 == 0:
            return f"@{'creator' if (writer + number) % 2 else 'assignee'} comment {number}"
        return f"comment {number}"

    def comment(writer: int) -> list[Exception]:
        errors = []
        for number in range(COMMENTS_EACH):
            try:
                services.add_comment(task, actor=authors[writer], body=body(writer, number))
            except Exception as error:
                errors.append(error)
            finally:
                connections.close_all()
        return errors

    results = in_threads(WRITERS, comment)

    assert failures(results) == []
    assert [error for errors in results for error in errors] == []
    assert Comment.objects.filter(task=task).count() == WRITERS * COMMENTS_EACH
    for person in (creator, assignee):
        # Comments by others, less those that mention this person: a mention is its own row.
        others = Comment.objects.filter(task=task).exclude(author=person)
        mentions = [row for row in others if f"@{person.username} " in row.body]
        grouped = Notification.objects.filter(recipient=person, group_key=key)
        assert [row.group_open for row in grouped] == [True]
        group = grouped.get()
        assert group.group_count == others.count() - len(mentions)
        mentioned = Notification.objects.filter(recipient=person, category="mention")
        assert mentioned.count() == len(mentions)
        # Newest first: the group's latest comment is by its first actor.
        newest = Comment.objects.get(pk=group.data["comment_id"])
        actor_ids = [entry["id"] for entry in group.actors]
        assert actor_ids[0] == newest.author_id
        assert len(actor_ids) == len(set(actor_ids)) == 5
        assert person.pk not in actor_ids
