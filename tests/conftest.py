"""Fixtures for the template tests: rendering option sets and a throwaway PostgreSQL server."""

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("NOTIFICATIONS_REQUIRE_SERVICES") == "1"


def render(options: dict[str, str], output_dir: Path) -> Path:
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=options, output_dir=str(output_dir)
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (NOTIFICATIONS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster on a free loopback port; yields a URL without a database name.

    PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        missing_service("PostgreSQL server binaries not found")
    bin_dir = Path(candidates[-1]).parent
    # Not under pytest's temp folder: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="template-tests-postgres-"))
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    base.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    import psycopg

    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                connection.execute(f'CREATE DATABASE "{name}"')
            return f"{server_url}/{name}"
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say which Python versions ran the rendered suite, and how long the image test took."""
    versions = sys.modules.get("tests.test_python_versions")
    if versions is not None and (versions.VERSIONS_RAN or versions.VERSIONS_MISSING):
        terminalreporter.section("Python versions")
        for minor, line in sorted(versions.VERSIONS_RAN.items()):
            terminalreporter.write_line(f"ran {minor}: {line}")
        for minor in versions.VERSIONS_MISSING:
            terminalreporter.write_line(f"not on this machine: {minor}")
    image = sys.modules.get("tests.test_image")
    if image is not None and image.TIMINGS:
        terminalreporter.section("Container image")
        for line in image.TIMINGS:
            terminalreporter.write_line(line)


PYTEST_COUNTS = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|skipped|deselected|errors?|warnings?|xfailed|xpassed)\b.*"
    r" in [\d.]+s\b.*?)\s*=*$",
    re.M,
)


def counts_line(output: str) -> str:
    """A pytest run's counts line ("12 passed, 1 skipped in 3.10s"): the last one in `output`,
    wherever the run's logging put other lines after it."""
    found = PYTEST_COUNTS.findall(output)
    assert found, f"no pytest summary in:\n{output[-3000:]}"
    return found[-1]
