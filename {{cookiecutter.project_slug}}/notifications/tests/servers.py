"""Real server processes for live and browser tests: free ports, start, wait, stop."""

import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
# manage.py and config/ live here; every server process runs from this folder.
PROJECT_DIR = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def require_or_skip(reason: str) -> None:
    if os.environ.get("NOTIFICATIONS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (required: NOTIFICATIONS_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def http_json(
    port: int, method: str, path: str, *, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    """The status and JSON body of one request to a server on loopback."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        data = json.dumps(body) if body is not None else None
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with code {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"{name} did not listen on port {port} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class RedisServer:
    """A throwaway redis-server without persistence that a test can stop and restart."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class PostgresServer:
    """A throwaway PostgreSQL cluster that a test can stop and start again on the same port.

    PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user.
    """

    def __init__(self) -> None:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not candidates:
            require_or_skip("PostgreSQL server binaries are not installed")
        self.bin_dir = Path(candidates[-1]).parent
        self.port = free_port()
        # Not under pytest's temp folder, which is private to root.
        self.base = Path(tempfile.mkdtemp(prefix="live-postgres-"))
        self.base.chmod(0o755)
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.pg("initdb", "-D", str(self.base / "data"), "-U", "postgres", "-A", "trust")

    def url(self, database: str) -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def pg(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses={HOST} -c fsync=off"
        data, log = str(self.base / "data"), str(self.base / "log")
        self.pg("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as in a restart or a failover."""
        self.pg("pg_ctl", "-D", str(self.base / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        command = [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data")]
        subprocess.run([*command, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# The documented proxy configuration; Nginx runs it with the test's ports substituted.
NGINX_SITE = PROJECT_DIR / "deploy" / "nginx.conf"
NGINX_MAIN = """
worker_processes 1;
events { worker_connections 512; }
http {
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}
"""


class Nginx:
    """Debian's nginx running deploy/nginx.conf from a throwaway prefix, in front of `upstreams`.

    As root, it runs as `nobody`: a test server never needs root.
    """

    def __init__(self, upstreams: list[int]) -> None:
        self.port = free_port()
        self.prefix = Path(tempfile.mkdtemp(prefix="nginx-"))
        site = NGINX_SITE.read_text()
        site = re.sub(r"listen 80;", f"listen {HOST}:{self.port};", site)
        site = re.sub(r"access_log /\S+", f"access_log {self.prefix}/access.log", site)
        servers = "".join(f"server {HOST}:{port};\n    " for port in upstreams)
        site = re.sub(r"(server 127\.0\.0\.1:\d+;\s*)+", servers, site)
        (self.prefix / "site.conf").write_text(site)
        (self.prefix / "nginx.conf").write_text(NGINX_MAIN.replace("{prefix}", str(self.prefix)))
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.prefix, "nobody")
            as_user = ["runuser", "-u", "nobody", "--"]
        self.process = subprocess.Popen(
            [
                *as_user,
                NGINX,
                "-e",
                f"{self.prefix}/error.log",
                "-p",
                str(self.prefix),
                "-c",
                f"{self.prefix}/nginx.conf",
                "-g",
                f"daemon off; pid {self.prefix}/nginx.pid;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process, f"nginx (log: {self.prefix}/error.log)")

    @property
    def access_log(self) -> str:
        path = self.prefix / "access.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self.prefix, ignore_errors=True)
