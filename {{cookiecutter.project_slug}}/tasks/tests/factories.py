"""Factories for teams, tasks and comments; users come from the one user factory."""

import factory

from notifications.tests.factories import UserFactory
from tasks.models import Comment, Task, Team

__all__ = ["CommentFactory", "TaskFactory", "TeamFactory", "UserFactory"]


class TaskFactory(factory.django.DjangoModelFactory[Task]):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Task {n}")
    created_by = factory.SubFactory(UserFactory)
    updated_by = factory.SelfAttribute("created_by")


class CommentFactory(factory.django.DjangoModelFactory[Comment]):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = factory.SelfAttribute("task.created_by")
    body = factory.Faker("sentence")


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create: bool, members: list | None, **kwargs: object) -> None:
        if create and members:
            self.members.add(*members)
