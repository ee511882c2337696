"""Writes of tasks and comments, and the notifications those writes raise."""

import re
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from notifications.services import NotificationService
from tasks.models import Comment, Task, TaskState

# Fields a caller may change through update_task; the rest are set by the services.
UPDATABLE_FIELDS = frozenset({"title", "description", "status", "assignee", "due_date"})
# Distinct names looked up per comment: bounds the query and the fan-out of one comment.
MAX_MENTIONS = 20
# "@name" not preceded by a name character, so "bob@example.com" mentions nobody; the name
# ends on a word character, so "@bob." and "@bob," mention "bob".
MENTION = re.compile(r"(?<![\w.@+-])@([\w.@+-]*\w)")


def create_task(
    *,
    actor: AbstractBaseUser,
    title: str,
    description: str = "",
    status: str = Task.Status.TODO,
    assignee: AbstractBaseUser | None = None,
    due_date: date | None = None,
) -> Task:
    """Create a task owned by `actor`; its assignee is notified."""
    task = Task(
        title=title,
        description=description,
        status=status,
        assignee=assignee,
        due_date=due_date,
        created_by=actor,
        updated_by=actor,
    )
    task.full_clean()
    with transaction.atomic():
        task.save()
    return task


def update_task(task: Task, *, actor: AbstractBaseUser, **changes: Any) -> Task:
    """Apply `changes` as `actor`; an assignment or a status change notifies."""
    unknown = changes.keys() - UPDATABLE_FIELDS
    if unknown:
        raise TypeError(
            f"update_task() cannot change {', '.join(sorted(unknown))}; "
            f"it changes {', '.join(sorted(UPDATABLE_FIELDS))}."
        )
    if not changes:
        return task
    for field, value in changes.items():
        setattr(task, field, value)
    task.updated_by = actor
    task.full_clean()
    with transaction.atomic():
        task.save(update_fields=[*changes, "updated_by", "updated_at"])
    return task


def add_comment(task: Task, *, actor: AbstractBaseUser, body: str) -> Comment:
    """Comment on a task as `actor`; the task's people and anyone @mentioned are notified."""
    comment = Comment(task=task, author=actor, body=body)
    comment.full_clean()
    with transaction.atomic():
        comment.save()
    return comment


# Notifications: called by the receivers in signals.py, inside the saving transaction, so a
# rolled-back save leaves no notification and pushes nothing.


def notify_task_saved(task: Task, *, before: TaskState | None) -> None:
    """Notify a new assignee, then the creator and assignee of a status change.

    `before` is the stored state before this save, None for a new task.
    """
    actor = task.created_by if before is None else task.updated_by
    notified = {actor.pk if actor is not None else None}
    data = {"task_id": task.pk}

    assigned = task.assignee_id is not None and (
        before is None or task.assignee_id != before.assignee_id
    )
    if assigned and task.assignee_id not in notified:
        _notify(
            [task.assignee_id],
            f'{_name(actor)} created "{task}" and assigned it to you.'
            if before is None
            else f'{_name(actor)} assigned "{task}" to you.',
            title="task_created" if before is None else "task_assigned",
            category="task",
            actor=actor,
            target=task,
            data=data,
        )
        notified.add(task.assignee_id)

    if before is None or task.status == before.status:
        return
    completed = task.status == Task.Status.DONE
    _notify(
        [user_id for user_id in (task.created_by_id, task.assignee_id) if user_id not in notified],
        f'{_name(actor)} completed "{task}".'
        if completed
        else f'{_name(actor)} moved "{task}" to {task.get_status_display()}.',
        title="task_completed" if completed else "task_updated",
        category="task",
        actor=actor,
        target=task,
        data=data,
    )


def notify_comment_added(comment: Comment) -> None:
    """Notify the people on the task: as a mention if @named, else as a reply."""
    task, author = comment.task, comment.author
    data = {"task_id": task.pk, "comment_id": comment.pk}
    notified = {comment.author_id}

    # Only people who can see the task: a mention must not send its title to anyone else.
    on_task = {task.created_by_id, task.assignee_id}
    mentioned = [
        user_id
        for user_id in mentioned_user_ids(comment.body)
        if user_id in on_task and user_id not in notified
    ]
    _notify(
        mentioned,
        f'{_name(author)} mentioned you on "{task}".',
        title="mention",
        category="mention",
        actor=author,
        target=comment,
        data=data,
    )
    notified.update(mentioned)

    _notify(
        [user_id for user_id in (task.created_by_id, task.assignee_id) if user_id not in notified],
        f'{_name(author)} commented on "{task}".',
        title="reply",
        category="comment",
        actor=author,
        target=comment,
        data=data,
    )


def mentioned_user_ids(text: str) -> list[int]:
    """Ids of the existing users named as @username in `text`; unknown names are ignored."""
    names = list(dict.fromkeys(MENTION.findall(text)))[:MAX_MENTIONS]
    if not names:
        return []
    user_model = get_user_model()
    lookup = {f"{user_model.USERNAME_FIELD}__in": names}
    return list(user_model.objects.filter(**lookup).values_list("pk", flat=True))


def _notify(user_ids: list[int | None], message: str, **options: Any) -> None:
    recipients = list(dict.fromkeys(user_id for user_id in user_ids if user_id is not None))
    if recipients:
        NotificationService.notify_many(recipients, message, **options)


def _name(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None else "Someone"
