"""The example domain's notification action: the assignee accepts a task from its notification."""

from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from notifications.inbox import actions
from notifications.models import Notification
from notifications.reader.languages import language_of
from notifications.services import NotificationService
from notifications.users import User
from tasks.models import Task

ACCEPT = "tasks.accept"


@actions.register(ACCEPT)
def accept(user: User, notification: Notification) -> dict[str, Any]:
    """Start the task if the user is still its assignee: "To do" becomes "In progress".

    The result's message is stored and shown as it is, so it is written in the user's language.
    """
    with translation.override(language_of(user.pk)):
        return _accept(user, notification)


def _accept(user: User, notification: Notification) -> dict[str, Any]:
    from tasks import services

    # NO KEY: a comment being saved at once checks its task at commit with a KEY SHARE lock,
    # which FOR UPDATE would block while this transaction waits for that one's stream heads.
    task = (
        Task.objects.select_for_update(no_key=True)
        .filter(pk=notification.data.get("task_id"))
        .first()
    )
    if task is None:
        return {"accepted": False, "message": _("The task is gone.")}
    if task.assignee_id != user.pk:
        return {"accepted": False, "message": _("The task is no longer assigned to you.")}
    if task.status == Task.Status.TODO:
        # The start notifies the creator, and the result event goes to this user: both stream
        # heads now, in the order every write takes them, so no other write can deadlock this.
        NotificationService.lock_recipients([user.pk, task.created_by_id])
        services.update_task(task, actor=user, status=Task.Status.IN_PROGRESS)
    return {"accepted": True, "message": _("Accepted"), "status": task.status}
