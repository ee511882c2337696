"""The rendered defaults on every Python the project supports that this machine has.

Interpreters come from pyenv (`pyenv versions`), else from PATH (`python3.12`). Each version
gets a virtualenv synced from the rendered uv.lock, cached outside the clone and keyed by the
lock and the interpreter, so the shipped lock is checked to install on each version. The
suite runs at both ends: on the oldest in test_template, and here on the newest Python, with
the newest Django the pyproject allows over the lock's LTS, failing on any deprecation warning
that is the project's to fix.
"""

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_SERVICES, counts_line, render
from tests.images import CACHE_DIR

SUPPORTED = ("3.11", "3.12", "3.13")
# Installed over the lock's Django (5.2 LTS) on that Python: the newest release the pyproject
# allows, which needs Python 3.12 or later.
NEWEST_DJANGO = {"3.13": "django==6.1.*"}
DEPRECATED = re.compile(r"(?:Pending)?DeprecationWarning|RemovedInDjango\w*Warning")
# A warning in pytest's summary: "  /path/to/module.py:12: RemovedInDjango2028Warning: ...".
WARNING_LINE = re.compile(r"^\s+(\S+?):\d+: (\w+): (.*)$", re.M)
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


def synced_venv(project: Path, python: Path, django: str | None = None) -> tuple[Path, str]:
    """A virtualenv with the lock's dependencies (dev extra) for `python`, and its version;
    with `django` (a requirement) installed over the lock's Django."""
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    seed = (project / "uv.lock").read_bytes() + version.encode() + (django or "").encode()
    key = hashlib.sha256(seed).hexdigest()[:12]
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
    if django is not None:
        install = [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin/python")]
        result = subprocess.run(
            [*install, django], env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, f"{django} did not install on {version}:\n{result.stderr}"
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
    django = NEWEST_DJANGO.get(minor)
    venv, version = synced_venv(project, python, django)
    if minor == f"{sys.version_info.major}.{sys.version_info.minor}":
        # This interpreter already runs the defaults' suite in test_template; the lock is checked.
        VERSIONS_RAN[minor] = f"{version}: lock installs; suite runs in test_template"
        return
    if minor != SUPPORTED[-1]:
        # Between the oldest (test_template) and the newest (below, on the newest Django) the
        # lock is checked to install; the suite's time goes to the two ends of the range.
        VERSIONS_RAN[minor] = f"{version}: lock installs"
        return
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "REDIS_URL"}
    }
    venv_python = str(venv / "bin/python")
    if django is not None:
        deploy_check(project, venv_python, env)
    # Two workers (pytest-xdist, in the lock's dev extra), each with a test database of its own.
    pytest_args = ["-q", "-p", "no:cacheprovider", "-m", "not live and not browser", "-n", "2"]
    result = subprocess.run(
        [venv_python, "-m", "pytest", *pytest_args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    output = result.stdout + result.stderr
    summary = counts_line(output)
    assert result.returncode == 0, f"suite on {python} failed:\n{output[-6000:]}"
    if django is not None:
        deprecations = projects_deprecations(output, project)
        assert not deprecations, f"{django} on {version} warns:\n" + "\n".join(deprecations)
        summary = f"{django_version(venv_python)}, {summary}"
    VERSIONS_RAN[minor] = f"{version}: {summary}"


def deploy_check(project: Path, python: str, env: dict[str, str]) -> None:
    """`check --deploy` with the production values of docs/deploy.md, deprecation warnings as
    errors: the settings are read before pytest records warnings, so its summary misses them."""
    deploy_env = {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "notify.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://notify.example.com",
        "SECURE_HSTS_SECONDS": "31536000",
        "EMAIL_URL": "smtp+tls://user:password@smtp.example.com:587",
    }
    strict = ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning"]
    command = [python, *strict, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=project, env=deploy_env, capture_output=True, text=True)
    assert result.returncode == 0, f"check --deploy failed:\n{result.stdout}{result.stderr}"


def projects_deprecations(output: str, project: Path) -> list[str]:
    """The deprecation warnings of pytest's summary that are the project's to fix: those its own
    modules raise, and every RemovedInDjango warning (raised where Django or pytest-django reads a
    deprecated setting or argument the project's code or tests gave)."""
    summary = output.partition("warnings summary")[2]
    return [
        line.group(0).strip()
        for line in WARNING_LINE.finditer(summary)
        if DEPRECATED.fullmatch(line.group(2))
        and (line.group(1).startswith(str(project)) or line.group(2).startswith("RemovedIn"))
    ]


def django_version(python: str) -> str:
    code = "import django; print('Django', django.get_version())"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
