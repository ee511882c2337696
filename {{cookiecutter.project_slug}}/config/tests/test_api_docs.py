"""The API docs page is for staff and loads its assets from this server; the schema needs a user."""

import re
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("root", "root@example.com", "pw", is_staff=True)


def test_the_docs_page_loads_nothing_from_another_host(client, staff):
    client.force_login(staff)

    response = client.get(reverse("api-docs"))

    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "swagger-ui" in content
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", content), "an asset from a CDN"
    assert "cdn.jsdelivr" not in content


def test_the_docs_page_refuses_a_non_staff_user(client, user):
    client.force_login(user)

    assert client.get(reverse("api-docs")).status_code == HTTPStatus.FORBIDDEN


def test_the_schema_needs_a_signed_in_user(client, anonymous_client, user):
    assert anonymous_client.get(reverse("schema")).status_code == HTTPStatus.UNAUTHORIZED
    client.force_login(user)

    assert client.get(reverse("schema")).status_code == HTTPStatus.OK
