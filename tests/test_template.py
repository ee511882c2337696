"""Render every supported option set, lint it, and run the rendered project's own checks."""

import os
import py_compile
import re
import secrets
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import create_database, render
from tests.golden import assert_matches_golden
from tests.option_sets import ALL_SETS, set_id

BIN = Path(sys.executable).parent
LEFTOVER = re.compile(r"\{\{|\{%|\{#|cookiecutter")
# Django templates legitimately use {% %}; only cookiecutter leftovers count there.
DJANGO_TEMPLATE_DIR = "/templates/"


def project_env(database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run(project: Path, *args: str, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    result = subprocess.run(
        args, cwd=project, env=env or project_env(), capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed in {project}:\n{output[-6000:]}"
    return output


# Rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("options", ALL_SETS, ids=set_id)
def test_option_set_renders_clean(cookies, options):
    result = cookies.bake(extra_context=options)
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    assert_matches_golden(project, options)

    files = [path for path in project.rglob("*") if path.is_file()]
    for path in files:
        text = path.read_text(errors="replace")
        if DJANGO_TEMPLATE_DIR in str(path):
            assert "cookiecutter" not in text, path
        else:
            assert not LEFTOVER.search(text), f"template syntax left in {path}"
        if path.suffix == ".py":
            py_compile.compile(str(path), doraise=True)

    assert (project / "tasks").exists() == (options["include_example_domain"] == "y")
    assert (project / "notifications/static").exists() == (options["include_demo_ui"] == "y")
    assert (project / "Dockerfile").exists() == (options["use_docker"] == "y")
    assert (project / "docker-compose.yml").exists() == (options["use_docker"] == "y")
    env_example = (project / ".env.example").read_text()
    assert ("DATABASE_URL=postgres://" in env_example) == (options["database"] == "postgresql")

    run(project, str(BIN / "ruff"), "check", ".")
    run(project, str(BIN / "ruff"), "format", "--check", ".")


def test_env_holds_a_fresh_secret(cookies):
    first = cookies.bake().project_path
    key = re.search(r"^SECRET_KEY=(.+)$", (Path(first) / ".env").read_text(), re.M)
    assert key and len(key.group(1)) >= 50
    second = cookies.bake(extra_context={"project_name": "Other Hub"}).project_path
    assert key.group(1) not in (Path(second) / ".env").read_text()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("my-project", "not a valid Python identifier"),
        ("9lives", "not a valid Python identifier"),
        ("class", "not a valid Python identifier"),
        ("json", "shadows a Python or Django module"),
        ("django", "shadows a Python or Django module"),
        ("MyProject", "must be lowercase"),
    ],
)
def test_invalid_slug_fails_in_pre_gen_hook(tmp_path, slug, message):
    result = subprocess.run(
        [
            str(BIN / "cookiecutter"),
            "--no-input",
            "-o",
            str(tmp_path),
            str(Path(__file__).parent.parent),
            f"project_slug={slug}",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not any(tmp_path.iterdir()), "nothing is written when the hook fails"


@pytest.mark.parametrize("license_name", ["MIT", "BSD-3-Clause", "Apache-2.0", "Not open source"])
def test_license_option(cookies, license_name):
    project = Path(cookies.bake(extra_context={"open_source_license": license_name}).project_path)
    if license_name == "Not open source":
        assert not (project / "LICENSE").exists()
    else:
        assert (project / "LICENSE").read_text().strip()


def test_shared_venv_satisfies_rendered_dependencies(tmp_path):
    project = render({}, tmp_path)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    wanted = (
        pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["dev"]
    )
    for line in wanted:
        requirement = Requirement(line)
        installed = metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), (
            f"{requirement} wanted, {installed} installed: update requirements-dev.txt"
        )


# The rendered project's own checks and test suite -----------------------------------------
# Docker and database options change no Python code, so the suites cover every code-distinct
# set, each on the database its option names (real PostgreSQL for postgresql).
SUITE_SETS = [
    pytest.param(
        {
            "include_example_domain": "y",
            "include_demo_ui": "y",
            "use_docker": "y",
            "database": "postgresql",
        },
        "",
        id="defaults-full-suite-with-live-and-browser",
    ),
    pytest.param(
        {
            "include_example_domain": "n",
            "include_demo_ui": "n",
            "use_docker": "n",
            "database": "sqlite",
        },
        "not live",
        id="minimal-sqlite",
    ),
    pytest.param(
        {
            "include_example_domain": "y",
            "include_demo_ui": "n",
            "use_docker": "y",
            "database": "sqlite",
        },
        "not live",
        id="domain-only-sqlite",
    ),
    pytest.param(
        {
            "include_example_domain": "n",
            "include_demo_ui": "y",
            "use_docker": "n",
            "database": "postgresql",
        },
        "not live",
        id="ui-only-postgresql",
    ),
]


@pytest.mark.suite
@pytest.mark.parametrize(("options", "marker"), SUITE_SETS)
def test_rendered_project_checks_and_suite(tmp_path, request, options, marker):
    project = render(options, tmp_path)
    database_url = None
    if options["database"] == "postgresql":
        server = request.getfixturevalue("postgres_server")
        database_url = create_database(server, f"suite_{secrets.token_hex(4)}")
    env = project_env(database_url)
    python = sys.executable

    run(project, python, "manage.py", "check", env=env)
    run(project, python, "manage.py", "makemigrations", "--check", "--dry-run", env=env)
    deploy_env = {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "notify.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://notify.example.com",
        "SECURE_HSTS_SECONDS": "31536000",
    }
    run(
        project, python, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=deploy_env
    )
    run(
        project,
        python,
        "manage.py",
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        os.devnull,
        env=env,
    )

    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if marker:
        args += ["-m", marker]
    output = run(project, *args, env=env, timeout=1800)
    summary = output.strip().splitlines()[-1]
    print(f"{request.node.callspec.id}: {summary}")
    assert " passed" in summary and "failed" not in summary and "error" not in summary
