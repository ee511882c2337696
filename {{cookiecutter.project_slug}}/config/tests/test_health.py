"""The load balancer's probes: /healthz never touches a service, /readyz checks each one."""

import time
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from config import health
from notifications import jobs

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


def test_readyz_reports_stale_jobs_without_failing(client, settings):
    """A stopped worker shows in the body; the web servers stay in service."""
    settings.JOBS_INLINE = False
    settings.JOBS_STALE_SECONDS = 90
    cache.set(jobs.HEARTBEAT_KEY, {"at": time.time() - 5, "worker": "celery@a"})
    assert client.get("/readyz").json()["jobs"] == "ok"

    cache.set(jobs.HEARTBEAT_KEY, {"at": time.time() - 300, "worker": "celery@a"})
    response = client.get("/readyz")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["jobs"] == "stale: last heartbeat 300 s ago"


def test_the_jobs_health_command_fails_without_a_recent_heartbeat(settings):
    settings.JOBS_INLINE = False
    settings.JOBS_STALE_SECONDS = 90
    cache.delete(jobs.HEARTBEAT_KEY)
    with pytest.raises(CommandError, match="no worker has run the heartbeat job yet"):
        call_command("jobs_health")

    cache.set(jobs.HEARTBEAT_KEY, {"at": time.time() - 300, "worker": "celery@a"})
    with pytest.raises(CommandError, match="ran 300 s ago"):
        call_command("jobs_health")

    jobs.heartbeat.delay()
    output = StringIO()
    call_command("jobs_health", stdout=output)
    assert output.getvalue().startswith("healthy")
