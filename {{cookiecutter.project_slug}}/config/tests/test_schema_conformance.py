"""The whole API fuzzed against its own OpenAPI schema by schemathesis, in-process.

Every operation the schema lists gets generated requests, valid and not, with a JWT. Each
response must be no 5xx and match the schema: a documented status, JSON where JSON is
declared, and a body of the declared shape. Examples per operation are bounded, so the run
stays short; raise SCHEMATHESIS_EXAMPLES to dig deeper.
"""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def auth_header(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@pytest.fixture(autouse=True)
def wsgi_host(settings):
    # schemathesis' in-process client sends Host: localhost.
    settings.ALLOWED_HOSTS = ["localhost"]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Requests run inside the test's transaction, as Django's own test client runs them.

    The WSGI handler closes the database connection when a request ends; inside a test that
    would close the connection holding the test's transaction (on PostgreSQL).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def project_schema() -> dict:
    """The schema /api/schema/ serves, generated here: collection needs it before any request."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(project_schema())
schema.app = get_wsgi_application()


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_response_is_documented_and_none_is_a_server_error(case, auth_header):
    case.call_and_validate(headers=auth_header, checks=CHECKS)
