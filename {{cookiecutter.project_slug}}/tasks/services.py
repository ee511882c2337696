"""Writes of tasks and comments, and the notifications those writes raise.

Notification texts are lazy translations: each recipient's copy is written in their language
(notifications/reader/languages.py), so the centre, the socket and email all show it so.
"""

import enum
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from notifications.categories import StrOrPromise
from notifications.reader import languages
from notifications.sending import limits
from notifications.services import NotificationService
from notifications.users import User
from tasks import selectors
from tasks.actions import ACCEPT
from tasks.models import Comment, Task, TaskState


class Unset(enum.Enum):
    """A field update_task leaves as it is (None is a value: "no assignee")."""

    UNSET = enum.auto()


UNSET = Unset.UNSET
# Distinct names looked up per comment: bounds the query and the fan-out of one comment.
MAX_MENTIONS = 20
# "@name" not preceded by a name character, so "bob@example.com" mentions nobody; the name
# ends on a word character, so "@bob." and "@bob," mention "bob".
MENTION = re.compile(r"(?<![\w.@+-])@([\w.@+-]*\w)")


def create_task(
    *,
    actor: User,
    title: str,
    description: str = "",
    status: str = Task.Status.TODO,
    assignee: User | None = None,
    due_date: date | None = None,
) -> Task:
    """Create a task owned by `actor`; its assignee is notified."""
    task = Task(
        title=title, description=description, status=status, assignee=assignee, due_date=due_date
    )
    return save_new_task(task, actor=actor)


def save_new_task(task: Task, *, actor: User) -> Task:
    """Save a task built elsewhere (the admin's form) as `actor`'s; its assignee is notified."""
    task.created_by = actor
    task.updated_by = actor
    task.full_clean()
    with transaction.atomic():
        task.save()
    return task


def update_task(
    task: Task,
    *,
    actor: User,
    title: str | Unset = UNSET,
    description: str | Unset = UNSET,
    status: str | Unset = UNSET,
    assignee: User | Unset | None = UNSET,
    due_date: date | Unset | None = UNSET,
) -> Task:
    """Change the fields given, as `actor`; an assignment or a status change notifies."""
    given = {
        "title": title,
        "description": description,
        "status": status,
        "assignee": assignee,
        "due_date": due_date,
    }
    changes = {field: value for field, value in given.items() if value is not UNSET}
    if not changes:
        return task
    for field, value in changes.items():
        setattr(task, field, value)
    task.updated_by = actor
    task.full_clean()
    with transaction.atomic():
        task.save(update_fields=[*changes, "updated_by", "updated_at"])
    return task


def add_comment(task: Task, *, actor: User, body: str) -> Comment:
    """Comment on a task as `actor`; the task's people and anyone @mentioned are notified."""
    return save_new_comment(Comment(task=task, body=body), actor=actor)


def save_new_comment(comment: Comment, *, actor: User) -> Comment:
    """Save a comment built elsewhere (the admin's form) as `actor`'s; it notifies."""
    comment.author = actor
    comment.full_clean()
    with transaction.atomic():
        comment.save()
    return comment


def edit_comment(comment: Comment, *, body: str) -> Comment:
    """Change a comment's text; an edit notifies nobody."""
    comment.body = body
    comment.full_clean()
    with transaction.atomic():
        comment.save(update_fields=["body"])
    return comment


# Notifications: called by the receivers in signals.py, inside the saving transaction, so a
# rolled-back save leaves no notification and pushes nothing.


def notify_task_saved(task: Task, *, created: bool, before: TaskState | None) -> None:
    """Notify a new assignee, then the creator and assignee of a status change.

    `before` is the stored state before this save; for a task saved without being loaded
    (say `Task(pk=...).save()`) it is unknown, and nothing is notified.
    """
    if not created and before is None:
        return
    actor = task.created_by if created else task.updated_by
    name = _name(actor)
    notified = {actor.pk if actor is not None else None}

    assigned_before = before.assignee_id if before is not None else None
    assigned = task.assignee_id is not None and (created or task.assignee_id != assigned_before)
    moved = before is not None and task.status != before.status
    if assigned and moved:
        # Two notifications in one transaction: all its locks first, in the order writes take them.
        NotificationService.lock_recipients(
            [user_id for user_id in (task.created_by_id, task.assignee_id) if user_id is not None]
        )
    if assigned and task.assignee_id not in notified:
        _notify(
            [task.assignee_id],
            title=format_lazy(_("{name} assigned you {task}"), name=name, task=task),
            message=format_lazy(
                _('{name} created "{task}" and assigned it to you.'), name=name, task=task
            )
            if created
            else format_lazy(_('{name} assigned "{task}" to you.'), name=name, task=task),
            kind="task_created" if created else "task_assigned",
            category="task",
            actor=actor,
            target=task,
            data={"task_id": task.pk},
            actions=[{"label": _("Accept"), "style": "primary", "action": ACCEPT}],
        )
        notified.add(task.assignee_id)

    if not moved:
        return
    completed = task.status == Task.Status.DONE
    # The label of the status, lazy: rendered in each recipient's language.
    status = Task.Status(task.status).label
    _notify(
        [user_id for user_id in (task.created_by_id, task.assignee_id) if user_id not in notified],
        title=format_lazy(_("{name} completed {task}"), name=name, task=task)
        if completed
        else format_lazy(_("{name} moved {task} to {status}"), name=name, task=task, status=status),
        message=format_lazy(_('{name} completed "{task}".'), name=name, task=task)
        if completed
        else format_lazy(
            _('{name} moved "{task}" to {status}.'), name=name, task=task, status=status
        ),
        kind="task_completed" if completed else "task_updated",
        category="task",
        actor=actor,
        target=task,
        data={"task_id": task.pk},
    )


def notify_comment_added(comment: Comment) -> None:
    """Notify the task's people: those @mentioned first, then its creator and assignee.

    Comments on one task fold into one notification per recipient while its group is open
    ("Carol commented on Fix login", with the count and the latest commenters); mentions
    stay one each, since each asks the person for something.
    """
    task, author = comment.task, comment.author
    name = _name(author)
    data = {"task_id": task.pk, "comment_id": comment.pk}
    notified = {comment.author_id}

    # Only people who can see the task: a mention must not send its title to anyone else.
    named = mentioned_user_ids(comment.body)
    on_task = set(selectors.people_on(task).filter(pk__in=named).values_list("pk", flat=True))
    mentioned = [user_id for user_id in named if user_id in on_task and user_id not in notified]
    grouped = [
        user_id
        for user_id in (task.created_by_id, task.assignee_id)
        if user_id is not None and user_id not in notified and user_id not in mentioned
    ]
    group_key = f"task:{task.pk}:comments"
    # Two notifications in one transaction: all its locks first, in the order writes take them.
    NotificationService.lock_recipients([*mentioned, *grouped], group_key=group_key)
    _notify(
        mentioned,
        title=format_lazy(_("{name} mentioned you on {task}"), name=name, task=task),
        message=comment.body,
        kind="mention",
        category="mention",
        actor=author,
        target=comment,
        data=data,
    )
    _notify(
        grouped,
        title=format_lazy(_("{name} commented on {task}"), name=name, task=task),
        message=comment.body,
        kind="comment",
        category="comment",
        actor=author,
        target=comment,
        data=data,
        group_key=group_key,
    )


def mentioned_user_ids(text: str) -> list[int]:
    """Ids of the existing users named as @username in `text`; unknown names are ignored."""
    names = list(dict.fromkeys(MENTION.findall(text)))[:MAX_MENTIONS]
    if not names:
        return []
    user_model = get_user_model()
    lookup = {f"{user_model.USERNAME_FIELD}__in": names}
    return list(user_model.objects.filter(**lookup).values_list("pk", flat=True))


def _notify(
    user_ids: Sequence[int | None],
    *,
    title: StrOrPromise,
    message: StrOrPromise,
    kind: str,
    category: str,
    actor: User | None,
    target: models.Model,
    data: dict[str, Any],
    group_key: str = "",
    actions: list[dict[str, Any]] | None = None,
) -> None:
    """Notify each user once, in their language; the title is for people, `data["kind"]` for
    code."""
    recipients = list(dict.fromkeys(user_id for user_id in user_ids if user_id is not None))
    groups = languages.by_language(recipients)
    if len(groups) > 1:
        # One write per language: all their locks first, in the order every write takes them.
        NotificationService.lock_recipients(recipients, group_key=group_key)
    for language, group in groups.items():
        with translation.override(language):
            NotificationService.notify_many(
                group,
                # Cut to what a notification may carry (notifications/sending/limits.py).
                limits.shortened(
                    str(message), length=limits.MAX_MESSAGE_LENGTH, size=limits.MAX_MESSAGE_BYTES
                ),
                title=limits.shortened(
                    str(title), length=limits.MAX_TITLE_LENGTH, size=limits.MAX_TITLE_BYTES
                ),
                category=category,
                actor=actor,
                target=target,
                data={"kind": kind, **data},
                group_key=group_key,
                # Button labels in the recipient's language too: they are stored as text.
                actions=[{**action, "label": str(action["label"])} for action in actions or []],
            )


def _name(user: User | None) -> str:
    return user.get_username() if user is not None else "Someone"
