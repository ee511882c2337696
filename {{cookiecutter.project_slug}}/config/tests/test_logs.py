"""Log lines carry time, level and logger, and never a token or ticket from a query string."""

import logging

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application
from config.logs import RedactCredentials, redact


@pytest.mark.parametrize(
    "text",
    [
        "WSCONNECTING /ws/notifications/?token=eyJhbGciOi.abc.def",
        "GET /ws/notifications/?since=4&uuid=0b6e1c9a-55aa-4c1e-9d7b-1f2e3d4c5b6a HTTP/1.1",
        "'/ws/notifications/?TOKEN=secret-value' refused",
    ],
)
def test_redact_removes_the_credential_and_keeps_the_rest(text):
    redacted = redact(text)

    assert "[redacted]" in redacted
    for secret in ("eyJhbGciOi", "0b6e1c9a", "secret-value"):
        assert secret not in redacted
    assert redacted.split("?")[0] == text.split("?")[0]


def test_the_filter_rewrites_formatted_arguments():
    record = logging.LogRecord(
        "daphne.server", logging.INFO, __file__, 1, "connect %s", ("/ws/?token=abc",), None
    )

    assert RedactCredentials().filter(record)
    assert record.getMessage() == "connect /ws/?token=[redacted]"


def test_the_configured_format_has_time_level_and_logger(settings):
    line = settings.LOGGING["formatters"]["line"]["format"]

    for field in ("%(asctime)s", "%(levelname)s", "%(name)s"):
        assert field in line


@pytest.mark.django_db
async def test_the_access_log_names_the_path_without_its_query(caplog):
    caplog.set_level(logging.INFO, logger="config.access")
    communicator = HttpCommunicator(
        application, "GET", "/healthz?token=never-logged", headers=[(b"host", b"testserver")]
    )

    response = await communicator.get_response()
    await communicator.wait()  # the line is written when the application returns

    assert response["status"] == 200
    [line] = [r.getMessage() for r in caplog.records if r.name == "config.access"]
    assert "GET /healthz 200" in line
    assert "never-logged" not in line
