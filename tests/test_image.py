"""The rendered Dockerfile builds with buildah and the image serves HTTP and WebSockets.

No Docker engine and no registry: buildah builds with chroot isolation on a Debian base made
by debootstrap (tests/images.py), then runs the image's daphne on a free loopback port.
"""

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.conftest import free_port, missing_service, render
from tests.images import base_image, buildah, buildah_command, buildah_env

IMAGE = "localhost/notifications-template-test:latest"
HOST = "notify.example.com"
# The host's CA bundle, for builds behind a TLS-inspecting proxy; harmless elsewhere.
HOST_CA = (
    os.environ.get("PIP_CERT")
    or os.environ.get("SSL_CERT_FILE")
    or ("/etc/ssl/certs/ca-certificates.crt")
)
CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"
# How long the base, the build and the whole test took, for the run's summary.
TIMINGS: list[str] = []
MINT_TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
user = get_user_model().objects.create_user("image-user", password="image-user-pass-1")
print(user.pk, AccessToken.for_user(user))
"""


def build(project: Path, base: str) -> None:
    # --layers keeps each step's result, so a rerun rebuilds only what changed; --force-rm
    # removes the working containers even when a step fails.
    args = ["build", "--isolation", "chroot", "--layers", "--force-rm", "--quiet"]
    # The docker format keeps HEALTHCHECK, which the OCI format drops.
    args += ["--format", "docker", "--build-arg", f"BASE_IMAGE={base}", "--tag", IMAGE]
    if Path(HOST_CA).is_file():
        args += ["--volume", f"{HOST_CA}:{CONTAINER_CA}:ro"]
        args += ["--env", f"PIP_CERT={CONTAINER_CA}", "--env", f"SSL_CERT_FILE={CONTAINER_CA}"]
    buildah(*args, str(project))


def image_config() -> dict:
    return json.loads(buildah("inspect", "--type", "image", IMAGE))["Docker"]["config"]


def run_args(container: str, env: dict[str, str], *command: str) -> list[str]:
    """`buildah run` arguments: the host's network, so the container sees the loopback ports."""
    env_args = [arg for key, value in env.items() for arg in ("--env", f"{key}={value}")]
    isolation = ["--isolation", "chroot", "--network", "host"]
    return ["run", *isolation, *env_args, container, "--", *command]


def run_in(container: str, env: dict[str, str], *command: str) -> str:
    return buildah(*run_args(container, env, *command))


def http_get(port: int, path: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": HOST, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wait_for_http(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"daphne in the container exited with {process.returncode}:\n{output}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"daphne in the container did not answer on port {port} within {timeout} s")


def has_healthz_route(project: Path) -> bool:
    """Whether the project routes `/healthz` (config/urls.py or a module it includes)."""
    return any('"healthz' in path.read_text() for path in (project / "config").glob("*.py"))


async def first_frame(port: int, token: str) -> dict:
    url = f"ws://127.0.0.1:{port}/ws/notifications/?token={token}"
    async with websockets.connect(url, origin=f"https://{HOST}", open_timeout=10) as socket:
        return json.loads(await asyncio.wait_for(socket.recv(), timeout=10))


@pytest.mark.image
def test_image_builds_and_answers_http_and_websocket(tmp_path):
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            missing_service(f"{tool} not installed (apt-get install {tool})")
    started = time.monotonic()
    base = base_image()
    base_seconds = time.monotonic() - started
    project = render({}, tmp_path)
    build(project, base)
    build_seconds = time.monotonic() - started - base_seconds

    config = image_config()
    assert config["User"] not in ("", "root", "0"), "the image runs as an unprivileged user"
    assert config["Cmd"][:3] == ["python", "manage.py", "serve"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python", "deploy/healthcheck.py"]

    container = buildah("from", "--quiet", IMAGE)
    port = free_port()
    env = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": "sqlite:////data/db.sqlite3",
    }
    daphne = None
    try:
        assert run_in(container, env, "id", "-u") != "0"
        assert run_in(container, env, "ls", "staticfiles/admin/css"), "collectstatic ran"
        assert run_in(container, env, "sh", "-c", "test -e .env || echo absent") == "absent"
        run_in(container, env, "python", "manage.py", "migrate", "--noinput")
        user_id, token = run_in(
            container, env, "python", "manage.py", "shell", "-c", MINT_TOKEN
        ).split()[-2:]

        serve = ("python", "manage.py", "serve", "--bind", "127.0.0.1", "--port", str(port))
        daphne = subprocess.Popen(
            [*buildah_command(), *run_args(container, env, *serve)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=buildah_env(),
            start_new_session=True,
        )
        wait_for_http(port, daphne)

        if has_healthz_route(project):
            assert http_get(port, "/healthz") == 200
            # The image's own HEALTHCHECK, pointed at this test's port.
            run_in(container, {**env, "PORT": str(port)}, *config["Healthcheck"]["Test"][1:])
        else:
            # Until the project has /healthz: a page every process serves without a login.
            assert http_get(port, "/admin/login/") == 200

        frame = asyncio.run(first_frame(port, token))
        assert frame["event"] == "ready", frame
        assert frame["payload"]["user_id"] == int(user_id)
    finally:
        if daphne is not None:
            if daphne.poll() is None:
                os.killpg(daphne.pid, signal.SIGTERM)
            try:
                output, _ = daphne.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(daphne.pid, signal.SIGKILL)
                output, _ = daphne.communicate()
            print(f"daphne in the container:\n{output}")  # shown when the test fails
        buildah("rm", container)
    total = time.monotonic() - started
    TIMINGS.append(f"base {base_seconds:.0f} s, build {build_seconds:.0f} s, total {total:.0f} s")
