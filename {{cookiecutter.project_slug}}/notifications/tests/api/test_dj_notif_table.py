"""The dj_notif endpoint table, by its literal paths and methods, answers as documented."""

from http import HTTPStatus

import pytest

from notifications.tests.factories import BroadcastFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def test_the_user_endpoints(api_client, user):
    project = NotificationFactory(recipient=user, category="project")
    general = NotificationFactory(recipient=user, category="general")

    listed = api_client.get("/api/notifications/user/")
    assert listed.status_code == HTTPStatus.OK
    assert [row["id"] for row in listed.json()["results"]] == [general.pk, project.pk]

    counts = api_client.get("/api/notifications/user/categories/")
    assert counts.status_code == HTTPStatus.OK
    assert {row["category"]: row["unread_count"] for row in counts.json()}["project"] == 1

    by_category = api_client.get("/api/notifications/user/category/project/")
    assert [row["id"] for row in by_category.json()["results"]] == [project.pk]

    marked = api_client.post(f"/api/notifications/user/category/project/mark_read/{project.pk}/")
    assert marked.status_code == HTTPStatus.OK

    # The dj_notif table writes this path without a trailing slash; its router serves both.
    all_in_category = api_client.post("/api/notifications/user/category/general/mark_all_read")
    assert all_in_category.json() == {"marked": 1}
    NotificationFactory(recipient=user, category="general")
    with_slash = api_client.post("/api/notifications/user/category/general/mark_all_read/")
    assert with_slash.json() == {"marked": 1}

    NotificationFactory(recipient=user)
    everything = api_client.post("/api/notifications/user/mark_all_as_read/")
    assert everything.json() == {"marked": 1}


def test_the_broadcast_endpoints(api_client):
    system = BroadcastFactory(category="system")
    BroadcastFactory(category="general")

    assert len(api_client.get("/api/notifications/broadcast/").json()["results"]) == 2
    by_category = api_client.get("/api/notifications/broadcast/category/system/")
    assert [row["id"] for row in by_category.json()["results"]] == [system.pk]

    read = api_client.post(f"/api/notifications/broadcast/category/system/mark_read/{system.pk}/")
    assert read.status_code == HTTPStatus.OK
    assert read.json()["is_read"] is True


def test_the_ws_auth_endpoint(api_client):
    response = api_client.get("/api/notifications/ws_auth/")

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"uuid"}
