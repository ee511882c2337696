"""The personal notifications API: lists, counts, read, unread and delete."""

import base64
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.tests.factories import BroadcastFactory, NotificationFactory

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:user-list")


def url(name: str, **kwargs: object) -> str:
    return reverse(f"notifications:{name}", kwargs=kwargs)


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# Authentication ---------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "user-list", {}),
    ("get", "user-categories", {}),
    ("get", "user-unread-count", {}),
    ("post", "user-mark-all-read", {}),
    ("get", "user-detail", {"pk": 1}),
    ("delete", "user-detail", {"pk": 1}),
    ("post", "user-mark-read", {"pk": 1}),
    ("post", "user-mark-unread", {"pk": 1}),
    ("get", "user-category-list", {"category": "general"}),
    ("post", "user-category-mark-all-read", {"category": "general"}),
    ("post", "user-category-mark-read", {"category": "general", "pk": 1}),
    ("get", "broadcast-list", {}),
    ("get", "broadcast-category-list", {"category": "system"}),
    ("post", "broadcast-category-mark-read", {"category": "system", "pk": 1}),
    ("get", "ws-auth", {}),
    ("post", "ws-auth", {}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), ENDPOINTS)
def test_every_endpoint_refuses_an_anonymous_client(anonymous_client, method, name, kwargs):
    response = getattr(anonymous_client, method)(url(name, **kwargs))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "detail" in response.json()


def test_session_authentication_works_too(client, user):
    NotificationFactory(recipient=user)
    client.force_login(user)

    assert client.get(LIST).status_code == HTTPStatus.OK


# List -------------------------------------------------------------------------------------


def test_list_shows_only_the_users_live_notifications_newest_first(api_client, user, other_user):
    older, newer = NotificationFactory.create_batch(2, recipient=user)
    NotificationFactory(recipient=user, deleted_at=timezone.now())
    NotificationFactory(recipient=other_user)

    response = api_client.get(LIST)

    assert response.status_code == HTTPStatus.OK
    assert ids(response) == [newer.pk, older.pk]
    row = response.json()["results"][0]
    assert row["message"] == newer.message
    assert row["is_read"] is False
    assert {"next", "previous", "results"} <= set(response.json())


def test_list_filters(api_client, user):
    general = NotificationFactory(recipient=user, category="general")
    project = NotificationFactory(recipient=user, category="project")
    read = NotificationFactory(recipient=user, read_at=timezone.now())

    assert ids(api_client.get(LIST, {"category": "project"})) == [project.pk]
    assert ids(api_client.get(LIST, {"unread": "true"})) == [project.pk, general.pk]
    assert ids(api_client.get(LIST, {"unread": "false"})) == [read.pk]
    assert ids(api_client.get(LIST, {"since": general.pk})) == [read.pk, project.pk]


def test_list_by_category_in_the_path(api_client, user):
    project = NotificationFactory(recipient=user, category="project")
    NotificationFactory(recipient=user, category="general")

    response = api_client.get(url("user-category-list", category="project"))

    assert response.status_code == HTTPStatus.OK
    assert ids(response) == [project.pk]


def test_an_unknown_category_in_the_path_is_not_found(api_client):
    response = api_client.get(url("user-category-list", category="nope"))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "nope"}, "category"),
        ({"unread": "maybe"}, "unread"),
        ({"since": "abc"}, "since"),
        ({"since": "-1"}, "since"),
        ({"since": str(2**64)}, "since"),
        ({"page_size": "abc"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "²"}, "page_size"),
    ],
)
def test_a_bad_query_parameter_is_a_bad_request_naming_it(api_client, params, field):
    response = api_client.get(LIST, params)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        base64.b64encode(b"p=abc").decode(),
        base64.b64encode(b"o=x").decode(),
        base64.b64encode(b"r=yes").decode(),
    ],
)
def test_a_malformed_cursor_is_not_found(api_client, user, cursor):
    NotificationFactory(recipient=user)

    response = api_client.get(LIST, {"cursor": cursor})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Invalid cursor"}


def test_a_cursor_beyond_every_id_is_an_empty_page(api_client, user):
    NotificationFactory(recipient=user)
    cursor = base64.b64encode(b"r=1&p=" + b"9" * 30).decode()

    response = api_client.get(LIST, {"cursor": cursor})

    assert response.status_code == HTTPStatus.OK
    assert ids(response) == []


def test_pages_never_repeat_or_skip(api_client, user):
    created = [n.pk for n in NotificationFactory.create_batch(7, recipient=user)]
    seen: list[int] = []

    response = api_client.get(LIST, {"page_size": 3})
    while True:
        seen += ids(response)
        next_url = response.json()["next"]
        if next_url is None:
            break
        # A notification arriving between pages goes on top and does not shift the pages.
        NotificationFactory(recipient=user)
        response = api_client.get(next_url)

    assert seen == sorted(created, reverse=True)


def test_page_size_defaults_to_20_and_is_capped_at_100(api_client, user):
    Notification.objects.bulk_create(
        [Notification(recipient=user, message=f"n{i}") for i in range(105)]
    )

    assert len(ids(api_client.get(LIST))) == 20
    assert len(ids(api_client.get(LIST, {"page_size": 1000}))) == 100


def test_the_number_of_queries_does_not_grow_with_the_page_size(api_client, user, other_user):
    NotificationFactory.create_batch(50, recipient=user, actor=other_user)

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(connection) as context:
            response = api_client.get(LIST, {"page_size": page_size})
        assert len(ids(response)) == page_size
        return len(context.captured_queries)

    assert queries(5) == queries(50)


# Detail and delete ------------------------------------------------------------------------


def test_detail(api_client, user):
    notification = NotificationFactory(recipient=user, title="Hello")

    response = api_client.get(url("user-detail", pk=notification.pk))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "Hello"


def test_delete_is_soft_and_hides_the_notification(api_client, user):
    notification = NotificationFactory(recipient=user)

    response = api_client.delete(url("user-detail", pk=notification.pk))

    assert response.status_code == HTTPStatus.NO_CONTENT
    notification.refresh_from_db()
    assert notification.deleted_at is not None
    assert api_client.get(url("user-detail", pk=notification.pk)).status_code == (
        HTTPStatus.NOT_FOUND
    )
    assert ids(api_client.get(LIST)) == []


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "user-detail"),
        ("delete", "user-detail"),
        ("post", "user-mark-read"),
        ("post", "user-mark-unread"),
    ],
)
def test_another_users_notification_is_not_found(api_client, other_user, method, name):
    theirs = NotificationFactory(recipient=other_user)

    response = getattr(api_client, method)(url(name, pk=theirs.pk))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert theirs.deleted_at is None


def test_a_missing_id_is_not_found(api_client):
    assert api_client.get(url("user-detail", pk=10**6)).status_code == HTTPStatus.NOT_FOUND


# Read and unread --------------------------------------------------------------------------


def test_mark_read_and_unread(api_client, user):
    notification = NotificationFactory(recipient=user)

    response = api_client.post(url("user-mark-read", pk=notification.pk))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_read"] is True

    response = api_client.post(url("user-mark-unread", pk=notification.pk))
    assert response.status_code == HTTPStatus.OK
    assert response.json()["is_read"] is False
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_read_in_a_category(api_client, user):
    project = NotificationFactory(recipient=user, category="project")
    general = NotificationFactory(recipient=user, category="general")

    ok = api_client.post(url("user-category-mark-read", category="project", pk=project.pk))
    wrong = api_client.post(url("user-category-mark-read", category="project", pk=general.pk))
    unknown = api_client.post(url("user-category-mark-read", category="nope", pk=project.pk))

    assert ok.status_code == HTTPStatus.OK
    assert ok.json()["is_read"] is True
    assert wrong.status_code == HTTPStatus.NOT_FOUND
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    general.refresh_from_db()
    assert general.read_at is None


def test_mark_read_in_a_category_of_another_users_notification(api_client, other_user):
    theirs = NotificationFactory(recipient=other_user, category="project")

    response = api_client.post(url("user-category-mark-read", category="project", pk=theirs.pk))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_mark_all_as_read(api_client, user, other_user):
    NotificationFactory.create_batch(3, recipient=user)
    NotificationFactory(recipient=other_user)

    response = api_client.post(url("user-mark-all-read"))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"marked": 3}
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_mark_all_read_in_a_category(api_client, user):
    NotificationFactory.create_batch(2, recipient=user, category="quote")
    NotificationFactory(recipient=user, category="general")

    response = api_client.post(url("user-category-mark-all-read", category="quote"))
    unknown = api_client.post(url("user-category-mark-all-read", category="nope"))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"marked": 2}
    assert unknown.status_code == HTTPStatus.NOT_FOUND
    assert Notification.objects.get(read_at__isnull=True).category == "general"


# Counts -----------------------------------------------------------------------------------


def test_unread_by_category_lists_every_category_with_its_label(api_client, user, other_user):
    NotificationFactory.create_batch(2, recipient=user, category="project")
    NotificationFactory(recipient=user, category="quote", read_at=timezone.now())
    NotificationFactory(recipient=other_user, category="quote")

    response = api_client.get(url("user-categories"))

    assert response.status_code == HTTPStatus.OK
    rows = {row["category"]: row for row in response.json()}
    assert rows["project"] == {"category": "project", "label": "Projects", "unread_count": 2}
    assert rows["quote"]["unread_count"] == 0
    assert rows["general"]["unread_count"] == 0


def test_unread_count(api_client, user):
    NotificationFactory.create_batch(2, recipient=user)
    NotificationFactory(recipient=user, read_at=timezone.now())
    BroadcastFactory()

    response = api_client.get(url("user-unread-count"))

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"unread_count": 2, "broadcast_unread_count": 1}


# Throttling -------------------------------------------------------------------------------


def test_writes_are_throttled_and_reads_are_not(api_client, user, settings):
    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "notification_writes": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    notification = NotificationFactory(recipient=user)
    mark_read = url("user-mark-read", pk=notification.pk)

    statuses = [api_client.post(mark_read).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert api_client.get(url("user-detail", pk=notification.pk)).status_code == HTTPStatus.OK


# Unknown query parameters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "query", "unknown"),
    [
        ("user-list", "status=unread", {"status"}),
        ("user-list", "unread=true&sort=asc&order=id", {"sort", "order"}),
        ("broadcast-list", "archived=true&status=read", {"status"}),
        ("events", "since=0&after=3", {"after"}),
    ],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(api_client, name, query, unknown):
    response = api_client.get(f"{url(name)}?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == unknown
    for messages in response.json().values():
        assert messages[0].startswith("Unknown query parameter; this endpoint takes: ")


def test_the_page_parameters_and_filters_are_known(api_client):
    response = api_client.get(f"{LIST}?unread=false&archived=false&page_size=5&format=json")

    assert response.status_code == HTTPStatus.OK
