"""Reads of tasks and comments, already scoped to what a user may see.

A user works with their teammates (tasks.models.Team): they see the tasks any of them
created or is assigned, may assign those tasks to any of them, and comment on them. A user
in no team sees only their own tasks.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet

from tasks.models import Comment, Task, Team


def teammates(user: AbstractBaseUser) -> QuerySet[AbstractBaseUser]:
    """The user and everyone who shares a team with them."""
    memberships = Team.members.through.objects.filter(
        team__in=Team.objects.filter(members=user.pk).values("pk")
    )
    return get_user_model().objects.filter(Q(pk=user.pk) | Q(pk__in=memberships.values("user_id")))


def tasks_visible_to(user: AbstractBaseUser, *, status: str | None = None) -> QuerySet[Task]:
    """Tasks created by or assigned to the user or a teammate, newest first."""
    people = teammates(user).values("pk")
    tasks = Task.objects.filter(Q(created_by__in=people) | Q(assignee__in=people))
    if status is not None:
        tasks = tasks.filter(status=status)
    return tasks.select_related("created_by", "assignee")


def assignable_users(user: AbstractBaseUser) -> QuerySet[AbstractBaseUser]:
    """Active users `user` may assign a task to: their teammates and the people on the tasks
    they see; staff may assign anyone. So an id guessed from outside the user's work is
    refused like an id that does not exist, and its owner's name never reaches the reply.
    """
    users = get_user_model().objects.filter(is_active=True)
    if getattr(user, "is_staff", False):
        return users
    tasks = tasks_visible_to(user)
    return users.filter(
        Q(pk__in=teammates(user).values("pk"))
        | Q(pk__in=tasks.values("created_by"))
        | Q(pk__in=tasks.exclude(assignee=None).values("assignee"))
    ).order_by(get_user_model().USERNAME_FIELD)


def people_on(task: Task) -> QuerySet[AbstractBaseUser]:
    """Everyone who sees `task`: its creator, its assignee and the teammates of either."""
    on_task = [user_id for user_id in (task.created_by_id, task.assignee_id) if user_id]
    memberships = Team.members.through.objects.filter(
        team__in=Team.objects.filter(members__in=on_task).values("pk")
    )
    return get_user_model().objects.filter(
        Q(pk__in=on_task) | Q(pk__in=memberships.values("user_id"))
    )


def comments_on(task: Task) -> QuerySet[Comment]:
    """The task's comments, oldest first."""
    return task.comments.select_related("author")
