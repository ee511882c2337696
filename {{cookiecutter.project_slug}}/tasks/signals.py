"""Receivers that turn task and comment saves into notifications.

They run inside the saving transaction, so a rolled-back save leaves no notification behind
and pushes nothing. Saves from the admin or the shell notify the same way as API writes.
"""

from typing import Any

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from tasks import selectors, services
from tasks.models import Comment, Task


@receiver(pre_save, sender=Task, dispatch_uid="tasks.remember_stored_state")
def remember_stored_state(sender: type[Task], instance: Task, raw: bool, **kwargs: Any) -> None:
    """Keep the stored assignee and status so post_save can tell what changed."""
    if not raw:
        instance.stored_state = selectors.stored_task_state(instance.pk) if instance.pk else None


@receiver(post_save, sender=Task, dispatch_uid="tasks.notify_task_saved")
def notify_task_saved(sender: type[Task], instance: Task, raw: bool, **kwargs: Any) -> None:
    if not raw:
        services.notify_task_saved(instance, before=instance.stored_state)


@receiver(post_save, sender=Comment, dispatch_uid="tasks.notify_comment_added")
def notify_comment_added(
    sender: type[Comment], instance: Comment, created: bool, raw: bool, **kwargs: Any
) -> None:
    if created and not raw:
        services.notify_comment_added(instance)
