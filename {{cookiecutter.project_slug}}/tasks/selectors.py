"""Reads of tasks and comments, already scoped to what a user may see."""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet

from tasks.models import Comment, Task


def tasks_visible_to(user: AbstractBaseUser, *, status: str | None = None) -> QuerySet[Task]:
    """Tasks the user created or is assigned to, newest first."""
    tasks = Task.objects.filter(Q(created_by=user) | Q(assignee=user))
    if status is not None:
        tasks = tasks.filter(status=status)
    return tasks.select_related("created_by", "assignee")


def assignable_users(user: AbstractBaseUser) -> QuerySet[AbstractBaseUser]:
    """Active users `user` may assign a task to: themselves and the people they share a task
    with; staff may assign anyone. So an id guessed from outside the user's work is refused
    like an id that does not exist, and its owner's name never reaches the reply.
    """
    users = get_user_model().objects.filter(is_active=True)
    if getattr(user, "is_staff", False):
        return users
    tasks = tasks_visible_to(user)
    return users.filter(
        Q(pk=user.pk)
        | Q(pk__in=tasks.values("created_by"))
        | Q(pk__in=tasks.exclude(assignee=None).values("assignee"))
    )


def comments_on(task: Task) -> QuerySet[Comment]:
    """The task's comments, oldest first."""
    return task.comments.select_related("author")
