"""Fixtures for browser tests: Redis, a migrated SQLite file, a real daphne, headless Chromium.

Notifications are created by separate `manage.py` processes, as a worker would create them,
so they reach the server through Redis: the in-memory layer cannot cross processes.
A missing redis-server or Chromium skips the tests, or fails them when
NOTIFICATIONS_REQUIRE_SERVICES=1.
"""

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from notifications.tests.servers import (
    HOST,
    PROJECT_DIR,
    REDIS_SERVER,
    RedisServer,
    free_port,
    require_or_skip,
    stop,
    wait_for_port,
)

PASSWORD = "centre-pass-123"
ASGI_APPLICATION = "config.asgi:application"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command in its own process; its output on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@pytest.fixture(scope="package")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(REDIS_SERVER).is_file():
        require_or_skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("browser-redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="package")
def server_env(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every server and command process, on a freshly migrated database."""
    database = tmp_path_factory.mktemp("browser") / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "browser-tests-not-a-secret",
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": redis_url,
    }
    manage(env, "migrate", "--noinput")
    return env


@pytest.fixture(scope="package")
def live_url(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("daphne") / "daphne.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(port), ASGI_APPLICATION],
            cwd=PROJECT_DIR,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, process, f"daphne (log: {log_path})")
            yield f"http://{HOST}:{port}"
        finally:
            stop(process)


@pytest.fixture
def make_user(server_env: dict[str, str]) -> Callable[[str], str]:
    """Create an ordinary (non-staff) user with PASSWORD; returns the username."""

    def create(username: str) -> str:
        code = (
            "from django.contrib.auth import get_user_model\n"
            f"get_user_model().objects.create_user({username!r}, password={PASSWORD!r})"
        )
        manage(server_env, "shell", "-c", code)
        return username

    return create


@pytest.fixture
def run_command(server_env: dict[str, str]) -> Callable[..., str]:
    """Run `manage.py <args>` in a separate process against the live server's database."""
    return functools.partial(manage, server_env)


@pytest.fixture
def notify(run_command: Callable[..., str]) -> Callable[..., str]:
    """`manage.py notify <username> <message> [options]` in a separate process."""

    def send(username: str, message: str, *options: str) -> str:
        return run_command("notify", username, message, *options)

    return send


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        require_or_skip(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def sign_in(page: Any, live_url: str) -> Callable[[str], None]:
    """Sign in through the accounts login page the centre redirects to, and wait until live."""
    from playwright.sync_api import expect

    def sign_in_as(username: str) -> None:
        page.goto(f"{live_url}/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live_url}/")
        expect(page.locator("#connection-status")).to_have_attribute("data-state", "online")

    return sign_in_as
