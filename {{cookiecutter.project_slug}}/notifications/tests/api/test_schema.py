"""The OpenAPI schema generates cleanly and documents every notifications route."""

import re
from http import HTTPStatus

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from notifications import categories
from notifications.api.pagination import IdCursorPagination

pytestmark = pytest.mark.django_db


def test_the_schema_endpoint_serves_every_route(api_client):
    response = api_client.get(reverse("schema"))

    assert response.status_code == HTTPStatus.OK
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert "/api/notifications/user/category/{category}/mark_read/{id}/" in paths
    assert "/api/notifications/ws_auth/" in paths
    assert set(paths["/api/notifications/user/{id}/"]) == {"get", "delete"}
    parameters = {p["name"] for p in paths["/api/notifications/user/"]["get"]["parameters"]}
    assert {"category", "unread", "since", "cursor", "page_size"} <= parameters


def test_the_schema_validates_without_warnings(tmp_path):
    # Raises on any warning or error, such as a view whose response type cannot be inferred.
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(tmp_path / "s.yaml"))

    assert (tmp_path / "s.yaml").read_text().startswith("openapi:")


def parameter(schema: dict, path: str, name: str, where: str = "query") -> dict:
    [found] = [
        p
        for p in schema["paths"][path]["get"]["parameters"]
        if p["name"] == name and p["in"] == where
    ]
    return found


def test_the_schema_states_the_categories_and_limits_the_api_enforces(api_client):
    schema = yaml.safe_load(api_client.get(reverse("schema")).content)
    names = sorted(category.name for category in categories.all_categories())

    assert parameter(schema, "/api/notifications/user/", "category")["schema"]["enum"] == names
    by_path = "/api/notifications/user/category/{category}/"
    assert parameter(schema, by_path, "category", "path")["schema"]["enum"] == names
    change = schema["components"]["schemas"]["PreferenceChange"]
    assert change["properties"]["category"]["enum"] == names
    page_size = parameter(schema, "/api/notifications/user/", "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, IdCursorPagination.max_page_size)
    since = parameter(schema, "/api/notifications/events/", "since")
    assert re.fullmatch(since["schema"]["pattern"], "12:3")
    assert not re.fullmatch(since["schema"]["pattern"], "12")
    assert "ahead of the newest event is a 400" in since["description"]
