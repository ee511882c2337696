"""The tasks API: scoping, input validation and the actor of each write."""

import base64
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.urls import reverse

from notifications.models import Notification
from tasks.models import Task
from tasks.tests.factories import CommentFactory, TaskFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def list_url(task: Task | None = None) -> str:
    return reverse("tasks:task-list")


def detail_url(task: Task) -> str:
    return reverse("tasks:task-detail", args=[task.pk])


def comments_url(task: Task) -> str:
    return reverse("tasks:task-comments", args=[task.pk])


def call(client, method: str, url: str, payload: dict | None = None):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, payload or {}, format="json")


@pytest.fixture
def strangers_task():
    return TaskFactory(created_by=UserFactory(username="mallory"))


def test_the_list_holds_tasks_created_by_or_assigned_to_the_user(
    api_client, user, other_user, strangers_task
):
    created = TaskFactory(created_by=user)
    assigned = TaskFactory(created_by=other_user, assignee=user)
    TaskFactory(created_by=other_user)

    response = api_client.get(list_url())

    assert response.status_code == HTTPStatus.OK
    assert [item["id"] for item in response.json()["results"]] == [assigned.pk, created.pk]


def test_the_list_filters_by_status(api_client, user):
    TaskFactory(created_by=user)
    done = TaskFactory(created_by=user, status=Task.Status.DONE)

    response = api_client.get(list_url(), {"status": "done"})

    assert [item["id"] for item in response.json()["results"]] == [done.pk]


def test_an_unknown_status_filter_is_a_400(api_client):
    response = api_client.get(list_url(), {"status": "archived"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "status" in response.json()


def test_creating_a_task_makes_the_user_its_creator(api_client, user, other_user):
    TaskFactory(created_by=other_user, assignee=user)  # they already work together
    response = api_client.post(
        list_url(),
        {"title": "Write docs", "assignee": other_user.pk, "due_date": "2030-01-31"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["created_by"] == {"id": user.pk, "username": "alice"}
    assert body["assignee"] == {"id": other_user.pk, "username": "bob"}
    assert body["status"] == "todo"
    assert body["due_date"] == "2030-01-31"
    assert Notification.objects.get(recipient=other_user).actor == user


# Who may be assigned ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "patch"])
def test_assigning_someone_you_share_no_task_with_is_refused_like_a_missing_id(
    api_client, user, strangers_task, method
):
    stranger = strangers_task.created_by
    url = list_url() if method == "post" else detail_url(TaskFactory(created_by=user))
    payload = {"title": "Spam", "assignee": stranger.pk}

    refused = getattr(api_client, method)(url, payload, format="json")
    missing = getattr(api_client, method)(url, {**payload, "assignee": 999_999}, format="json")

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json()["assignee"] == [f'Invalid pk "{stranger.pk}" - object does not exist.']
    assert missing.json()["assignee"] == ['Invalid pk "999999" - object does not exist.']
    assert "mallory" not in refused.content.decode()
    assert not Notification.objects.filter(recipient=stranger).exists()


def test_people_who_share_a_task_may_assign_each_other(api_client, other_client, user, other_user):
    TaskFactory(created_by=user, assignee=other_user)

    mine = api_client.post(list_url(), {"title": "A", "assignee": other_user.pk}, format="json")
    theirs = other_client.post(list_url(), {"title": "B", "assignee": user.pk}, format="json")

    assert mine.status_code == theirs.status_code == HTTPStatus.CREATED


def test_staff_may_assign_anyone(api_client, user, strangers_task):
    user.is_staff = True
    user.save()

    response = api_client.post(
        list_url(), {"title": "A", "assignee": strangers_task.created_by.pk}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["assignee"]["username"] == "mallory"


def test_task_and_comment_writes_are_throttled_and_reads_are_not(api_client, user, settings):
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "task_writes": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    task = TaskFactory(created_by=user)

    statuses = [
        api_client.post(list_url(), {"title": "One"}, format="json").status_code,
        api_client.post(comments_url(task), {"body": "Two"}, format="json").status_code,
        api_client.patch(detail_url(task), {"title": "Three"}, format="json").status_code,
    ]

    assert statuses == [HTTPStatus.CREATED, HTTPStatus.CREATED, HTTPStatus.TOO_MANY_REQUESTS]
    assert api_client.get(detail_url(task)).status_code == HTTPStatus.OK
    cache.clear()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "Ok", "status": "archived"}, "status"),
        ({"title": "Ok", "assignee": 999_999}, "assignee"),
        ({"title": "Ok", "due_date": "tomorrow"}, "due_date"),
    ],
)
def test_bad_task_input_is_a_400_naming_the_field(api_client, payload, field):
    response = api_client.post(list_url(), payload, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not Task.objects.exists()


def test_the_assignee_can_read_and_update_the_task(other_client, user, other_user):
    task = TaskFactory(created_by=user, assignee=other_user)

    assert other_client.get(detail_url(task)).status_code == HTTPStatus.OK
    response = other_client.patch(detail_url(task), {"status": "done"}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "done"
    task.refresh_from_db()
    assert task.status == Task.Status.DONE
    assert task.updated_by == other_user
    completed = Notification.objects.get(recipient=user, data__kind="task_completed")
    assert completed.actor == other_user


def test_patch_can_unassign_and_keeps_fields_not_sent(api_client, user, other_user):
    task = TaskFactory(created_by=user, assignee=other_user, description="Keep me")

    response = api_client.patch(detail_url(task), {"assignee": None}, format="json")

    assert response.status_code == HTTPStatus.OK
    task.refresh_from_db()
    assert task.assignee is None
    assert task.description == "Keep me"


def test_bad_patch_input_is_a_400(api_client, user):
    task = TaskFactory(created_by=user)

    response = api_client.patch(detail_url(task), {"status": "archived"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    task.refresh_from_db()
    assert task.status == Task.Status.TODO


def test_comments_are_listed_oldest_first_and_added_as_the_user(api_client, user, other_user):
    task = TaskFactory(created_by=user, assignee=other_user)
    first = CommentFactory(task=task, author=other_user)

    response = api_client.post(comments_url(task), {"body": "Second"}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["author"] == {"id": user.pk, "username": "alice"}
    listed = api_client.get(comments_url(task)).json()["results"]
    assert [item["id"] for item in listed] == [first.pk, response.json()["id"]]
    assert Notification.objects.filter(recipient=other_user, data__kind="comment").count() == 1


# Teams --------------------------------------------------------------------------------------


def test_teammates_read_and_comment_on_each_others_tasks(
    api_client, other_client, user, other_user
):
    carol = UserFactory(username="carol")
    TeamFactory(members=[user, other_user, carol])
    task = TaskFactory(created_by=carol, title="Carol's")

    listed = api_client.get(list_url()).json()["results"]
    first = api_client.post(comments_url(task), {"body": "One"}, format="json")
    second = other_client.post(comments_url(task), {"body": "Two"}, format="json")

    assert [item["id"] for item in listed] == [task.pk]
    assert (first.status_code, second.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    authors = [
        item["author"]["username"] for item in api_client.get(comments_url(task)).json()["results"]
    ]
    assert authors == ["alice", "bob"]
    notification = Notification.objects.get(recipient=carol, category="comment")
    assert notification.title == "bob and alice commented on Carol's"


def test_a_teammate_may_be_assigned_before_sharing_any_task(api_client, user, other_user):
    TeamFactory(members=[user, other_user])

    response = api_client.post(
        list_url(), {"title": "First", "assignee": other_user.pk}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["assignee"]["username"] == "bob"


def test_a_team_of_others_opens_nothing_to_the_user(api_client, user, strangers_task):
    TeamFactory(members=[strangers_task.created_by, UserFactory()])

    assert api_client.get(detail_url(strangers_task)).status_code == HTTPStatus.NOT_FOUND
    refused = api_client.post(
        list_url(), {"title": "x", "assignee": strangers_task.created_by.pk}, format="json"
    )
    assert refused.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("body", ["", "x" * 5001])
def test_bad_comment_input_is_a_400(api_client, user, body):
    task = TaskFactory(created_by=user)

    response = api_client.post(comments_url(task), {"body": body}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "body" in response.json()
    assert not task.comments.exists()


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("get", detail_url, None),
        ("patch", detail_url, {"status": "done"}),
        ("get", comments_url, None),
        ("post", comments_url, {"body": "Let me in"}),
    ],
)
def test_another_users_task_is_a_404(api_client, strangers_task, method, url, payload):
    response = call(api_client, method, url(strangers_task), payload)

    assert response.status_code == HTTPStatus.NOT_FOUND
    strangers_task.refresh_from_db()
    assert strangers_task.status == Task.Status.TODO
    assert not strangers_task.comments.exists()


def test_a_missing_task_is_a_404(api_client):
    response = api_client.get(reverse("tasks:task-detail", args=[999_999]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", list_url),
        ("post", list_url),
        ("get", detail_url),
        ("patch", detail_url),
        ("get", comments_url),
        ("post", comments_url),
    ],
)
def test_anonymous_requests_are_a_401(anonymous_client, strangers_task, method, url):
    response = call(anonymous_client, method, url(strangers_task))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert not Task.objects.exclude(pk=strangers_task.pk).exists()


def cursor_with_position(position: str) -> str:
    """A well-formed cursor whose position is not an id."""
    return base64.b64encode(f"p={position}".encode()).decode()


@pytest.mark.parametrize("url", [list_url, comments_url])
def test_a_cursor_positioned_on_a_non_number_is_a_404(api_client, user, url):
    task = TaskFactory(created_by=user)

    response = api_client.get(url(task), {"cursor": cursor_with_position("abc")})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_page_size_that_is_not_a_positive_number_is_a_400(api_client):
    response = api_client.get(list_url(), {"page_size": "0"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "page_size" in response.json()


@pytest.mark.parametrize("path", ["/api/tasks/", "/api/tasks/{id}/comments/"])
def test_the_schema_documents_task_lists_as_pages(api_client, path):
    schema = api_client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = schema.json()["components"]["schemas"]
    operation = schema.json()["paths"][path]["get"]

    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = components[reference.rsplit("/", 1)[-1]]
    assert {"next", "previous", "results"} <= set(page["properties"])
    assert {"cursor", "page_size"} <= {parameter["name"] for parameter in operation["parameters"]}


def test_unknown_query_parameters_of_the_lists_are_a_400_naming_them(api_client, user):
    task = TaskFactory(created_by=user)

    tasks = api_client.get(f"{list_url()}?state=open")
    comments = api_client.get(f"{comments_url(task)}?status=open&page_size=5")

    assert tasks.status_code == comments.status_code == HTTPStatus.BAD_REQUEST
    assert set(tasks.json()) == {"state"}
    assert set(comments.json()) == {"status"}
