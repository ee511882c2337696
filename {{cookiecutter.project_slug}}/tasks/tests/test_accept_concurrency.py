"""Accept racing comments on PostgreSQL: an action that notifies another user cannot deadlock.

Accepting an assignment notifies the task's creator and pushes its result to the assignee;
a comment on the same task notifies both at once. Both take the two stream heads, and must
take them in the same order. Each thread has its own connection, and the threads start
together: these tests run when DATABASE_URL points at PostgreSQL.
"""

import pytest

from notifications.models import Notification, StreamHead
from notifications.services import NotificationService
from notifications.stream import counters
from notifications.tests.racing import failures, in_threads, needs_postgresql
from tasks import services
from tasks.models import Task
from tasks.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), needs_postgresql]

TASKS = 8


def test_accepts_and_comments_at_once_all_succeed_and_counts_stay_exact():
    # The assignee's id is below the creator's: the order in which a careless accept would
    # take the creator's head before its own.
    assignee = UserFactory(username="assignee")
    creator = UserFactory(username="creator")
    commenter = UserFactory(username="commenter")
    tasks = [
        services.create_task(actor=creator, title=f"Task {number}", assignee=assignee)
        for number in range(TASKS)
    ]
    offers = {
        offer.data["task_id"]: offer.pk
        for offer in Notification.objects.filter(recipient=assignee, category="task")
    }

    def work(index: int) -> object:
        task = tasks[index % TASKS]
        if index < TASKS:
            return NotificationService.run_action(offers[task.pk], assignee, 0)
        return services.add_comment(task, actor=commenter, body=f"On it? {index}")

    results = in_threads(2 * TASKS, work)

    assert failures(results) == []
    assert [result["ran"] for result in results[:TASKS]] == [True] * TASKS
    assert set(Task.objects.values_list("status", flat=True)) == {Task.Status.IN_PROGRESS}
    people = [assignee.pk, creator.pk]
    stored = dict(StreamHead.objects.filter(stream__in=people).values_list("stream", "counts"))
    assert stored == counters.counted_rows(people)
    # Each accept told the creator that their task started.
    started = Notification.objects.filter(recipient=creator, data__kind="task_updated")
    assert started.count() == TASKS
