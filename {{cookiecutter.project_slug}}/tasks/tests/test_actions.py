"""The example domain's notification action: Accept on an assignment starts the task, once."""

import pytest

from notifications.models import Notification
from notifications.services import NotificationService
from tasks import services as tasks
from tasks.models import Task

pytestmark = pytest.mark.django_db


def test_the_example_domains_accept_starts_the_task_once(user, other_user):
    task = tasks.create_task(actor=other_user, title="Fix login", assignee=user)
    notification = Notification.objects.get(recipient=user, category="task")
    assert notification.actions[0]["action"] == "tasks.accept"

    done = NotificationService.run_action(notification.pk, user, 0)
    again = NotificationService.run_action(notification.pk, user, 0)

    assert done["result"] == {"accepted": True, "message": "Accepted", "status": "in_progress"}
    assert again["ran"] is False
    assert Task.objects.get(pk=task.pk).status == Task.Status.IN_PROGRESS
