"""The example domain's notification action: the assignee accepts a task from its notification."""

from typing import Any

from notifications.inbox import actions
from notifications.models import Notification
from notifications.users import User
from tasks.models import Task

ACCEPT = "tasks.accept"


@actions.register(ACCEPT)
def accept(user: User, notification: Notification) -> dict[str, Any]:
    """Start the task if the user is still its assignee: "To do" becomes "In progress"."""
    from tasks import services

    task = Task.objects.select_for_update().filter(pk=notification.data.get("task_id")).first()
    if task is None:
        return {"accepted": False, "message": "The task is gone."}
    if task.assignee_id != user.pk:
        return {"accepted": False, "message": "The task is no longer assigned to you."}
    if task.status == Task.Status.TODO:
        services.update_task(task, actor=user, status=Task.Status.IN_PROGRESS)
    return {"accepted": True, "message": "Accepted", "status": task.status}
