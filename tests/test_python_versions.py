"""The rendered defaults' suite on every Python the project supports that this machine has.

Interpreters come from pyenv (`pyenv versions`), else from PATH (`python3.12`). Each version
gets a virtualenv synced from the rendered uv.lock, cached outside the clone and keyed by the
lock and the interpreter, so the shipped lock is also checked to install on each version.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES, render
from tests.images import CACHE_DIR

SUPPORTED = ("3.11", "3.12", "3.13")
# Without 3.11 (the oldest supported) a run proves nothing about the lower bound.
REQUIRED = "3.11"
UV = Path(sys.executable).parent / "uv"
VERSIONS_RAN: dict[str, str] = {}
VERSIONS_MISSING: list[str] = []


def pyenv_interpreter(minor: str) -> Path | None:
    """The newest pyenv-installed patch release of `minor`, or None."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return None
    listing = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True
    ).stdout.split()
    patches = [v for v in listing if re.fullmatch(rf"{re.escape(minor)}\.\d+", v)]
    if not patches:
        return None
    newest = max(patches, key=lambda version: int(version.rsplit(".", 1)[1]))
    prefix = subprocess.run(
        [pyenv, "prefix", newest], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(prefix) / "bin" / "python"


def find_interpreter(minor: str) -> Path | None:
    found = pyenv_interpreter(minor)
    if found is None and (on_path := shutil.which(f"python{minor}")):
        found = Path(on_path)
    return found


def synced_venv(project: Path, python: Path) -> tuple[Path, str]:
    """A virtualenv with the lock's dependencies (dev extra) for `python`, and its version."""
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    key = hashlib.sha256((project / "uv.lock").read_bytes() + version.encode()).hexdigest()[:12]
    venv = CACHE_DIR / "venvs" / f"py{version}-{key}"
    env = {
        **os.environ,
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
    }
    sync = ["sync", "--frozen", "--extra", "dev", "--no-install-project", "--quiet"]
    result = subprocess.run(
        [str(UV), *sync, "--python", str(python)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"uv.lock did not install on Python {version}:\n{result.stderr}"
    for stale in venv.parent.glob(f"py{version}-*"):
        if stale != venv:
            shutil.rmtree(stale, ignore_errors=True)
    return venv, version


@pytest.mark.suite
@pytest.mark.parametrize("minor", SUPPORTED)
def test_defaults_suite_on_python(tmp_path, minor):
    python = find_interpreter(minor)
    if python is None:
        VERSIONS_MISSING.append(minor)
        reason = f"Python {minor} not found (pyenv install {minor}, or python{minor} on PATH)"
        if minor == REQUIRED and REQUIRE_SERVICES:
            pytest.fail(f"{reason} (NOTIFICATIONS_REQUIRE_SERVICES=1)")
        pytest.skip(reason)

    project = render({}, tmp_path)
    venv, version = synced_venv(project, python)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "REDIS_URL"}
    }
    pytest_args = ["-q", "-p", "no:cacheprovider", "-m", "not live and not browser"]
    result = subprocess.run(
        [str(venv / "bin/python"), "-m", "pytest", *pytest_args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1]
    assert result.returncode == 0, f"suite on {python} failed:\n{output[-6000:]}"
    VERSIONS_RAN[minor] = f"{version}: {summary}"
