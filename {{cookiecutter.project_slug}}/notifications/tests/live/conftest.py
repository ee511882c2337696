"""Fixtures for live tests: a real redis-server, a migrated database and real daphne processes.

Every process gets the same DATABASE_URL and REDIS_URL, as N servers in production would, and
notifications are created by separate `manage.py` processes, as a worker would create them.
A missing redis-server skips these tests, or fails them when NOTIFICATIONS_REQUIRE_SERVICES=1.
Under pytest-xdist (`-n 2 --dist loadfile`) each worker gets a PostgreSQL database of its own,
made afresh beside DATABASE_URL's, and a Redis of its own.
"""

import asyncio
import itertools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from websockets.asyncio import client as websockets_client
from websockets.typing import Origin

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

# Creates the users in `names` and prints {"username": {"id", "token"}}; the tokens are signed
# with the live processes' key. "!" is Django's unusable password.
CREATE_USERS = """
import json
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
User = get_user_model()
User.objects.bulk_create(
    [User(username=name, password="!") for name in names], ignore_conflicts=True
)
users = User.objects.filter(username__in=names)
print(json.dumps({u.username: {"id": u.id, "token": str(AccessToken.for_user(u))} for u in users}))
"""


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).is_file():
        require_or_skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_env(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every live process, with the database migrated once."""
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'live.sqlite3'}"
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and database_url.startswith("postgres"):
        database_url = fresh_database_beside(database_url, worker)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "live-tests-only-not-a-secret-0123456789abcdef",
        "DEBUG": "false",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--noinput")
    return env


def fresh_database_beside(database_url: str, suffix: str) -> str:
    """An empty database on DATABASE_URL's server, named after its database and `suffix`."""
    server, _, name = database_url.rpartition("/")
    own = f"{name.split('?')[0]}_{suffix}"
    maintenance = f"{server}/postgres".replace("postgres://", "postgresql://", 1)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{own}"')
    return f"{server}/{own}"


def manage(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a management command in its own process."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def create_users(live_env: dict[str, str]) -> Callable[..., dict[str, dict[str, Any]]]:
    """Create users by name in the live database; their ids and access tokens."""

    def create(*names: str) -> dict[str, dict[str, Any]]:
        code = f"names = {json.dumps(names)}\n{CREATE_USERS}"
        output = manage(live_env, "shell", "-c", code).stdout
        return json.loads(output.strip().splitlines()[-1])

    return create


class Daphne:
    """daphne as production runs it (`manage.py serve`), on a free port.

    `kill()` and `start()` again keep the port, as a restarted server would.
    """

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = env
        self.log = log
        self.start()

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--bind", HOST, "--port", str(self.port)],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process, "daphne")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when a machine or container dies."""
        self.process.kill()
        self.process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def origin(self) -> Origin:
        return Origin(f"http://{HOST}:{self.port}")

    def url(self, query: str) -> str:
        return f"ws://{HOST}:{self.port}/ws/notifications/?{query}"

    def http(self, method: str, path: str, token: str) -> tuple[int, Any]:
        """An API request with a JWT; the status and the JSON body."""
        request = urllib.request.Request(  # noqa: S310 (an http:// URL built here)
            f"{self.origin}{path}",
            method=method,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def start_daphne(live_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Daphne]]:
    """Start daphne processes (live_env plus overrides) on free ports; all stop at the end."""
    started: list[Daphne] = []

    def start(**overrides: str) -> Daphne:
        server = Daphne({**live_env, **overrides}, tmp_path / f"daphne-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server.process)


# Seconds to wait for a frame that must arrive; generous, because CI machines are slow.
PATIENCE = 20.0

Frame = dict[str, Any]


class LiveSocket:
    """A WebSocket client that reads frames one by one, as the browser client would."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, server: Daphne, token: str, query: str = "") -> "LiveSocket":
        connection = await websockets_client.connect(
            server.url(f"token={token}{query}"), origin=server.origin, open_timeout=PATIENCE
        )
        return cls(connection)

    async def next(self) -> Frame:
        return json.loads(await asyncio.wait_for(self.connection.recv(), PATIENCE))

    async def until(self, predicate: Callable[[Frame], bool]) -> Frame:
        while not predicate(frame := await self.next()):
            pass
        return frame

    async def ready(self) -> dict[str, Any]:
        return (await self.until(lambda frame: frame.get("event") == "ready"))["payload"]

    async def events_until_synced(self) -> tuple[list[Frame], Frame]:
        """Every stream event before `synced`, in order, and the `synced` payload."""
        replayed = []
        while (frame := await self.next())["event"] != "synced":
            if "id" in frame:
                replayed.append(frame)
        return replayed, frame["payload"]

    @property
    def close_code(self) -> int | None:
        return self.connection.close_code

    async def close(self) -> None:
        await self.connection.close()


def positions_advance(ids: list[str]) -> bool:
    """True when each position is past the one before: "<own>:<everyone>", neither goes back."""
    places = [tuple(int(part) for part in position.split(":")) for position in ids]
    return all(a[0] <= b[0] and a[1] <= b[1] and a != b for a, b in itertools.pairwise(places))


def is_created(notification_id: int) -> Callable[[Frame], bool]:
    return lambda frame: (
        frame.get("event") == "created"
        and frame["payload"]["notification"]["id"] == notification_id
    )


async def manage_async(env: dict[str, str], *args: str) -> tuple[str, str]:
    """Run a management command in its own process, as a worker would; stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "manage.py",
        *args,
        cwd=PROJECT_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode(), stderr.decode()
