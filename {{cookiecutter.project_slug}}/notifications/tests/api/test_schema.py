"""The OpenAPI schema generates cleanly and documents every notifications route."""

from http import HTTPStatus

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

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
