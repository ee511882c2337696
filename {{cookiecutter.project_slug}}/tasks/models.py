"""Teams, their tasks and the comments on them."""

from collections.abc import Collection
from typing import Any, NamedTuple, Self

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class TaskState(NamedTuple):
    """The stored values whose change raises a notification."""

    assignee_id: int | None
    status: str


class Team(models.Model):
    """People who work together: each sees, assigns and comments on the others' tasks."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="task_teams", blank=True
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TODO)
    # Not indexed alone: the composite indexes below start with it.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="created_tasks",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tasks",
        db_index=False,
    )
    # Who made the latest change: the notifications it raises skip this person.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The state as last loaded or saved, so that post_save can tell an assignment or a status
    # change from other edits without querying again. Not a column; None when unknown.
    stored_state: TaskState | None = None

    class Meta:
        ordering = ["-id"]
        indexes = [
            # "Tasks I created" and "tasks assigned to me", optionally by status.
            models.Index(fields=["created_by", "status"], name="task_creator_status_idx"),
            models.Index(fields=["assignee", "status"], name="task_assignee_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("task_pages:detail", args=[self.pk])

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> Self:
        task = super().from_db(db, field_names, values, **kwargs)
        task.remember_stored_state()
        return task

    def remember_stored_state(self) -> None:
        """Keep the assignee and status as stored now; deferred fields leave it unknown."""
        loaded = self.__dict__
        self.stored_state = (
            TaskState(loaded["assignee_id"], loaded["status"])
            if "assignee_id" in loaded and "status" in loaded
            else None
        )


class Comment(models.Model):
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="comments", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_comments"
    )
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # A task's conversation, oldest first.
            models.Index(fields=["task", "id"], name="comment_task_idx"),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on task {self.task_id}"

    def get_absolute_url(self) -> str:
        # The comment's place on its task's page (the id of its element there).
        task_url = reverse("task_pages:detail", args=[self.task_id])
        return f"{task_url}#comment-{self.pk}"
