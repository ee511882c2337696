"""Receivers that turn task and comment saves into notifications.

They run inside the saving transaction, so a rolled-back save leaves no notification behind
and pushes nothing. Saves from the shell notify the same way as API and admin writes. They
query nothing themselves: the task's stored state was kept when it was loaded (Task.from_db).
"""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from tasks import services
from tasks.models import Comment, Task


@receiver(post_save, sender=Task, dispatch_uid="tasks.notify_task_saved")
def notify_task_saved(
    sender: type[Task], instance: Task, created: bool, raw: bool, **kwargs: Any
) -> None:
    if not raw:
        services.notify_task_saved(instance, created=created, before=instance.stored_state)
    instance.remember_stored_state()


@receiver(post_save, sender=Comment, dispatch_uid="tasks.notify_comment_added")
def notify_comment_added(
    sender: type[Comment], instance: Comment, created: bool, raw: bool, **kwargs: Any
) -> None:
    if created and not raw:
        services.notify_comment_added(instance)
