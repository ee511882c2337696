"""Fixtures for browser tests: Redis, a migrated SQLite file, a real daphne, headless Chromium.

Notifications are created by separate `manage.py` processes, as a worker would create them,
so they reach the server through Redis: the in-memory layer cannot cross processes.
A missing redis-server or Chromium skips the tests, or fails them when
NOTIFICATIONS_REQUIRE_SERVICES=1. axe-core and TypeScript are fetched from the npm registry at
test time (`npm pack`, into a temporary folder): the project neither serves nor depends on them.
Screenshots go to `artifacts/screenshots/` (git-ignored).
"""

import functools
import os
import re
import shutil
import subprocess
import sys
import tarfile
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
SCREENSHOTS = PROJECT_DIR / "artifacts" / "screenshots"
AXE_PACKAGE = "axe-core@4"
TYPESCRIPT_PACKAGE = "typescript@5"
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


class Daphne:
    """One daphne process on a fixed port, which a test may stop and start again."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("a") as log:
            command = [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(self.port)]
            self.process = subprocess.Popen(
                [*command, ASGI_APPLICATION],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process, f"daphne (log: {self.log_path})")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@pytest.fixture(scope="package")
def daphne(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Daphne]:
    server = Daphne(server_env, tmp_path_factory.mktemp("daphne") / "daphne.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_url(daphne: Daphne) -> str:
    # A test that stopped the server without starting it again must not break the next one.
    if daphne.process is None:
        daphne.start()
    return daphne.url


@pytest.fixture(scope="package")
def usernames_taken() -> set[str]:
    return set()


@pytest.fixture
def make_user(server_env: dict[str, str], usernames_taken: set[str]) -> Callable[[str], str]:
    """Create an ordinary (non-staff) user with PASSWORD; returns the username."""

    def create(username: str) -> str:
        # One database serves the whole package: each test needs users of its own.
        assert username not in usernames_taken, f"another test of this package made {username!r}"
        usernames_taken.add(username)
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


DELETE_BROADCASTS = """
from notifications.models import Broadcast
from notifications.services import NotificationService
for broadcast in Broadcast.objects.alive():
    NotificationService.delete_broadcast(broadcast.pk)
"""


@pytest.fixture
def deletes_its_broadcasts(run_command: Callable[..., str]) -> Iterator[None]:
    """For a test that broadcasts: every user sees a broadcast, so the tests after it would."""
    yield
    run_command("shell", "-c", DELETE_BROADCASTS)


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
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a context of its own: its own cookies, so its own signed-in user."""
    contexts = []

    def open_page(width: int = 1000, height: int = 720, *, mobile: bool = False) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


def sign_in_page(page: Any, live_url: str, username: str, path: str = "/") -> None:
    """Sign in through the accounts login page `path` redirects to."""
    from playwright.sync_api import expect

    page.goto(f"{live_url}{path}")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_url}{path}")


@pytest.fixture
def sign_in(page: Any, live_url: str) -> Callable[..., None]:
    """Sign `page` in at the centre and wait until it is live."""
    from playwright.sync_api import expect

    def sign_in_as(username: str, on: Any = None) -> None:
        target = on or page
        sign_in_page(target, live_url, username)
        expect(target.locator("#connection-status")).to_have_attribute("data-state", "online")

    return sign_in_as


def npm_pack(package: str, folder: Path, needed_for: str) -> tarfile.TarFile:
    """The package's tarball from the npm registry, opened; skips (or fails) without npm."""
    npm = shutil.which("npm")
    if npm is None:
        require_or_skip(f"npm is not installed: {needed_for} needs {package}")
    result = subprocess.run(
        [npm or "npm", "pack", package, "--silent", "--pack-destination", str(folder)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        require_or_skip(f"npm pack {package} failed: {result.stderr.strip()[-300:]}")
    [tarball] = folder.glob("*.tgz")
    return tarfile.open(tarball)


@pytest.fixture(scope="package")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core's script, packed from the npm registry into a temporary folder."""
    folder = tmp_path_factory.mktemp("axe")
    with npm_pack(AXE_PACKAGE, folder, "the accessibility checks") as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None, f"{AXE_PACKAGE} holds no package/axe.min.js"
        return member.read().decode()


@pytest.fixture(scope="package")
def tsc(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command running TypeScript's compiler, packed from the npm registry."""
    node = shutil.which("node")
    if node is None:
        require_or_skip("node is not installed: the type checks need it")
    folder = tmp_path_factory.mktemp("typescript")
    with npm_pack(TYPESCRIPT_PACKAGE, folder, "the type checks") as archive:
        archive.extractall(folder, filter="data")
    return [node or "node", str(folder / "package" / "bin" / "tsc")]


@pytest.fixture
def check_accessibility(axe_source: str) -> Callable[[Any, str], None]:
    """Run axe-core in the page; fail on any serious or critical violation, named."""

    def check(page: Any, what: str) -> None:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol: a <script> tag would be inline script,
            # which the pages' Content-Security-Policy refuses.
            page.evaluate(axe_source)
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{violation['id']} ({violation['impact']}): "
            + "; ".join(node["target"][0] for node in violation["nodes"][:3])
            for violation in results["violations"]
            if violation["impact"] in {"serious", "critical"}
        ]
        assert not bad, f"accessibility violations on {what}: {bad}"

    return check


@pytest.fixture(scope="package")
def screenshot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot under artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
