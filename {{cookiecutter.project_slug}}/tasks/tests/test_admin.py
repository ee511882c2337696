"""Admin saves go through the services: the admin user is the actor and people are notified."""

from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import Notification
from tasks.models import Comment, Task
from tasks.tests.factories import CommentFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def task_form(comments: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The admin's task form with its comment inline, as a browser posts it."""
    comments = comments or []
    data = {
        "title": "Fix login",
        "description": "",
        "status": "todo",
        "assignee": "",
        "due_date": "",
        "comments-TOTAL_FORMS": str(len(comments)),
        "comments-INITIAL_FORMS": str(sum(1 for comment in comments if comment.get("id"))),
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, comment in enumerate(comments):
        for name, value in comment.items():
            data[f"comments-{index}-{name}"] = value
    return data


def test_adding_a_task_notifies_its_assignee_as_the_admin(admin_client, other_user):
    response = admin_client.post(
        reverse("admin:tasks_task_add"), task_form(assignee=str(other_user.pk))
    )

    assert response.status_code == HTTPStatus.FOUND
    task = Task.objects.get()
    assert task.created_by.get_username() == "root"
    notification = Notification.objects.get(recipient=other_user)
    assert notification.title == "root assigned you Fix login"
    assert notification.actor == task.created_by


def test_changing_the_status_notifies_and_a_new_inline_comment_notifies(admin_client, user):
    task = TaskFactory(created_by=user, title="Fix login")
    url = reverse("admin:tasks_task_change", args=[task.pk])

    response = admin_client.post(
        url, task_form(comments=[{"task": str(task.pk), "body": "On it"}], status="done")
    )

    assert response.status_code == HTTPStatus.FOUND
    kinds = sorted(row.data["kind"] for row in Notification.objects.filter(recipient=user))
    assert kinds == ["comment", "task_completed"]
    comment = Comment.objects.get()
    assert comment.author.get_username() == "root"


def test_editing_a_comment_in_the_admin_keeps_its_task_and_author(admin_client, user):
    comment = CommentFactory(task=TaskFactory(created_by=user), body="Tpyo")
    url = reverse("admin:tasks_comment_change", args=[comment.pk])

    response = admin_client.post(url, {"body": "Typo"})

    assert response.status_code == HTTPStatus.FOUND
    comment.refresh_from_db()
    assert (comment.body, comment.author) == ("Typo", user)
    assert not Notification.objects.exists()
