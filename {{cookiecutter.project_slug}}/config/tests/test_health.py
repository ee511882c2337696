"""The load balancer's probes: /healthz never touches a service, /readyz checks each one."""

from http import HTTPStatus

import pytest

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_only_without_redis(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}, "jobs": "inline"}


def test_readyz_names_the_failing_service(client, monkeypatch):
    async def unreachable() -> None:
        raise ConnectionError("refused")

    monkeypatch.setattr(health, "check_database", unreachable)

    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"]["database"] == "unavailable: ConnectionError"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_over_plain_http_are_not_redirected(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code == HTTPStatus.OK
    assert client.get("/api/").status_code == HTTPStatus.MOVED_PERMANENTLY
