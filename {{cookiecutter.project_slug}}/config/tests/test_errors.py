"""Every response under /api/ is JSON, 4xx and 5xx alike; other paths keep Django's pages."""

from http import HTTPStatus

import pytest
from django.conf import settings
from django.urls import path

from config import urls as project_urls

pytestmark = pytest.mark.django_db


def fail(request):
    raise RuntimeError("a bug in a view")


# The project's URLs and error handlers, plus views that fail, under /api/ and outside it.
urlpatterns = [
    path("api/fail/", fail),
    path("fail/", fail),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


@pytest.fixture
def client_without_raise(client):
    client.raise_request_exception = False
    return client


def test_an_unmatched_path_under_api_is_a_json_404(api_client):
    response = api_client.get("/api/no/such/path/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_unmatched_path_elsewhere_keeps_the_html_page(client):
    response = client.get("/no/such/page/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("url", ["/api/token/", "/api/notifications/user/mark_all_as_read/"])
def test_a_body_over_the_upload_limit_is_a_json_413(api_client, url):
    body = b'{"username": "' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'

    response = api_client.post(url, body, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.urls(__name__)
def test_an_error_in_an_api_view_is_a_json_500(client_without_raise):
    response = client_without_raise.get("/api/fail/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}


@pytest.mark.urls(__name__)
def test_an_error_elsewhere_keeps_the_html_page(client_without_raise):
    response = client_without_raise.get("/fail/")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response["Content-Type"].startswith("text/html")


def test_debug_is_off_in_these_tests():
    # Django shows its own debug pages when DEBUG is on; the handlers serve production.
    assert settings.DEBUG is False
