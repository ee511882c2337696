"""Reads of tasks and comments, already scoped to what a user may see."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet

from tasks.models import Comment, Task


def tasks_visible_to(user: AbstractBaseUser, *, status: str | None = None) -> QuerySet[Task]:
    """Tasks the user created or is assigned to, newest first."""
    tasks = Task.objects.filter(Q(created_by=user) | Q(assignee=user))
    if status is not None:
        tasks = tasks.filter(status=status)
    return tasks.select_related("created_by", "assignee")


def comments_on(task: Task) -> QuerySet[Comment]:
    """The task's comments, oldest first."""
    return task.comments.select_related("author")
