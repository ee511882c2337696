"""Fixtures of the notifications tests: the ASGI application as the server runs it."""

import importlib
from typing import Any

import pytest


@pytest.fixture
def application(settings) -> Any:
    """config.asgi built now, after the settings below, as a server process builds it."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    # The test sockets send an Origin but no Host header.
    settings.CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1"]
    return importlib.reload(importlib.import_module("config.asgi")).application
