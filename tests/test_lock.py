"""The shipped uv.lock matches the rendered pyproject.toml of every option set."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, render
from tests.option_sets import ALL_SETS, set_id

UV = Path(sys.executable).parent / "uv"
# Name and version reach the lock too: one set with values other than the defaults.
RENAMED = {"project_name": "Acme Alerts", "version": "2.3.1"}


def distinct_pyprojects(output_dir: Path) -> dict[str, Path]:
    """One rendered project per distinct pyproject.toml, keyed by the first set that made it."""
    projects: dict[str, Path] = {}
    seen: set[str] = set()
    for index, options in enumerate([*ALL_SETS, RENAMED]):
        project = render(options, output_dir / str(index))
        digest = hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            projects[set_id(options)] = project
    return projects


def test_uv_lock_is_in_sync_with_every_rendered_pyproject(tmp_path):
    projects = distinct_pyprojects(tmp_path)
    assert len(projects) >= 5, "sets differing in demo UI, domain and name were all rendered"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    failures = []
    for name, project in projects.items():
        result = subprocess.run(
            [str(UV), "lock", "--check"], cwd=project, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            failures.append(f"{name}:\n{result.stderr.strip()}")
    if failures:
        pytest.fail(
            "uv.lock is out of sync with the rendered pyproject.toml. Run `make lock` at the "
            "template root and commit {{cookiecutter.project_slug}}/uv.lock.\n\n"
            + "\n\n".join(failures)
        )


def test_the_lock_installs_django_5_2_lts_on_every_python():
    # The pyproject also allows Django 6.1 (Python 3.12+); the shipped default stays the LTS.
    lock = (TEMPLATE / "{{cookiecutter.project_slug}}" / "uv.lock").read_text()
    versions = re.findall(r'^name = "django"\nversion = "([^"]+)"$', lock, re.M)
    assert len(versions) == 1, f"one Django for every Python, not {versions}"
    assert versions[0].startswith("5.2."), versions
