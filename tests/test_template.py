"""Render every supported option set, lint it, and run the rendered project's own checks."""

import os
import py_compile
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import counts_line, create_database, free_port, render
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
    # Safe to copy: no line of it points at a service, replaces the generated secret or turns
    # debug mode on for every process started in the folder.
    active = [line for line in env_example.splitlines() if line and not line.startswith("#")]
    assert active == []
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    first_party = pyproject["tool"]["ruff"]["lint"]["isort"]["known-first-party"]
    assert ("tasks" in first_party) == (options["include_example_domain"] == "y")
    assert (project / "accounts/templates/accounts/login.html").is_file()
    assert not (project / "README.md.orig").exists()

    run(project, str(BIN / "ruff"), "check", ".")
    run(project, str(BIN / "ruff"), "format", "--check", ".")


def test_env_holds_a_fresh_secret(cookies):
    first = cookies.bake().project_path
    key = re.search(r"^SECRET_KEY=(.+)$", (Path(first) / ".env").read_text(), re.M)
    assert key and len(key.group(1)) >= 50
    second = cookies.bake(extra_context={"project_name": "Other Hub"}).project_path
    assert key.group(1) not in (Path(second) / ".env").read_text()


def test_env_leaves_debug_off_for_every_process(cookies):
    project = Path(cookies.bake().project_path)
    assert not re.search(r"^\s*DEBUG\s*=", (project / ".env").read_text(), re.M)

    env = {**project_env(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DEBUG", None)
    code = "from django.conf import settings; print(settings.DEBUG)"
    output = run(project, sys.executable, "-c", code, env=env)

    assert output.strip().splitlines()[-1] == "False"


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
# set, each on the database its option names (real PostgreSQL for postgresql), and each with
# every service its live and browser tests start: a missing one fails the run
# (NOTIFICATIONS_REQUIRE_SERVICES=1), and a skip is allowed only for the other database.
#
# Soak tests whose subject no option changes: delivery, slow clients, the job engine through
# restarts, the stream under concurrent writers, the pages in Chromium are the same modules in
# every set, and the defaults run them all; repeating them in three more sets would take
# `make test` past its 30 minutes on two cores. The other sets run every live module whose
# subject an option changes: the production parity test (which pages exist) and SQLite writes.
OPTION_DEPENDENT_LIVE = {"test_production.py", "test_sqlite_writes.py"}


def live_files_the_defaults_cover(project: Path) -> list[str]:
    found = [
        path
        for folder in ("live", "browser")
        for path in project.glob(f"*/tests/{folder}/test_*.py")
        if path.name not in OPTION_DEPENDENT_LIVE
    ]
    assert found, "no live or browser modules found: update live_files_the_defaults_cover"
    return sorted(str(path.relative_to(project)) for path in found)


SUITE_SETS = [
    pytest.param(
        {
            "include_example_domain": "y",
            "include_demo_ui": "y",
            "use_docker": "y",
            "database": "postgresql",
        },
        False,
        id="defaults-full-suite-with-live-and-browser",
    ),
    pytest.param(
        {
            "include_example_domain": "n",
            "include_demo_ui": "n",
            "use_docker": "n",
            "database": "sqlite",
        },
        True,
        id="minimal-sqlite",
    ),
    pytest.param(
        {
            "include_example_domain": "y",
            "include_demo_ui": "n",
            "use_docker": "y",
            "database": "sqlite",
        },
        True,
        id="domain-only-sqlite",
    ),
    pytest.param(
        {
            "include_example_domain": "n",
            "include_demo_ui": "y",
            "use_docker": "n",
            "database": "postgresql",
        },
        True,
        id="ui-only-postgresql",
    ),
]


# The generated CI ----------------------------------------------------------------------------
# Each program the generated tests start, as they look it up, and the Debian package with it.
DEBIAN_PACKAGE = {
    "redis-server": "redis-server",
    "initdb": "postgresql",
    "nginx": "nginx",
    "chromium": "chromium",
    "npm": "npm",
    "node": "nodejs",
    "xgettext": "gettext",
}
PROGRAM = re.compile(
    r'shutil\.which\("([\w-]+)"\)'  # shutil.which("nginx")
    r'|"/usr/(?:s?bin|lib/postgresql/\*/bin)/([\w-]+)"'  # "/usr/bin/chromium", initdb's glob
)


def programs_the_tests_run(project: Path) -> set[str]:
    """Every program a test module or fixture of the project looks up to start it."""
    found = set()
    for path in project.rglob("*.py"):
        if "tests" in path.relative_to(project).parts:
            for which, absolute in PROGRAM.findall(path.read_text()):
                found.add(which or absolute)
    return found


def apt_packages(step_command: str) -> set[str]:
    words = step_command.split("apt-get install", 1)[1].split()
    return {word for word in words if not word.startswith("-")}


@pytest.mark.parametrize("options", [param.values[0] for param in SUITE_SETS], ids=set_id)
def test_generated_ci_installs_every_program_the_tests_run(tmp_path, options):
    project = render(options, tmp_path)
    programs = programs_the_tests_run(project)
    assert {"redis-server", "initdb", "nginx"} <= programs, programs
    assert ("chromium" in programs) == (options["include_demo_ui"] == "y")
    unknown = programs - DEBIAN_PACKAGE.keys()
    assert not unknown, f"tests run {unknown}: add the Debian package to DEBIAN_PACKAGE and CI"

    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    job = workflow["jobs"]["test"]
    commands = [step["run"] for step in job["steps"] if "run" in step]
    installed = set().union(*(apt_packages(c) for c in commands if "apt-get install" in c))
    missing = {DEBIAN_PACKAGE[program] for program in programs} - installed
    assert not missing, f"the generated CI runs tests that need {missing} without installing it"
    # Missing services fail the run instead of skipping their tests.
    assert job["env"]["NOTIFICATIONS_REQUIRE_SERVICES"] == "1"
    assert commands[-1] == "make test"


@pytest.mark.suite
@pytest.mark.parametrize(("options", "covered_by_defaults"), SUITE_SETS)
def test_rendered_project_checks_and_suite(tmp_path, request, options, covered_by_defaults):
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

    args = [python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    if covered_by_defaults:
        args += [f"--ignore={path}" for path in live_files_the_defaults_cover(project)]
    suite_env = {**env, "NOTIFICATIONS_REQUIRE_SERVICES": "1"}
    # The unit tests on two workers, each with a test database of its own; the live tests on
    # two workers too, a module each at a time, each worker with its own database and servers;
    # then the tests that restart their services, alone. Together: every test of the suite.
    runs = [
        ("not live", ["-n", "2"]),
        ("live and not alone", ["-n", "2", "--dist", "loadfile"]),
    ]
    if not covered_by_defaults:
        runs.append(("alone", []))
    for marks, workers in runs:
        output = run(project, *args, "-m", marks, *workers, env=suite_env, timeout=1800)
        summary = counts_line(output)
        print(f"{request.node.callspec.id} ({marks}): {summary}")
        assert " passed" in summary and "failed" not in summary and "error" not in summary
        assert_skips_only_for_the_other_database(output, summary, options["database"])


SKIPPED = re.compile(r"^SKIPPED \[(\d+)\] (\S+?):\d+: (.*)$", re.M)


def assert_skips_only_for_the_other_database(output: str, summary: str, database: str) -> None:
    """Every skip names the database this set does not use: no live or browser test skipped."""
    other = "SQLite" if database == "postgresql" else "PostgreSQL"
    skips = SKIPPED.findall(output)
    wrong = [f"{path}: {reason}" for _, path, reason in skips if other not in reason]
    assert not wrong, "skipped where every service is present:\n" + "\n".join(wrong)
    counted = re.search(r"(\d+) skipped", summary)
    assert sum(int(number) for number, _, _ in skips) == (int(counted[1]) if counted else 0)


@pytest.mark.suite
@pytest.mark.parametrize(("options", "covered_by_defaults"), SUITE_SETS)
def test_rendered_project_typechecks(tmp_path, options, covered_by_defaults):
    project = render(options, tmp_path)

    output = run(project, str(BIN / "mypy"), ".", timeout=600)

    assert "Success: no issues found" in output


def readme_block(readme: str, heading: str) -> list[str]:
    """The command lines of the first ```bash block after `heading`, comments removed."""
    section = readme.split(heading, 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.suite
def test_readme_quick_start_runs_verbatim(tmp_path):
    project = render({}, tmp_path)
    readme = (project / "README.md").read_text()
    commands = readme_block(readme, "## Quick start")
    assert commands[0] == "make install"
    assert commands[-1] == "make dev"
    # `make install` would pip-install into .venv; the shared venv already holds the same pins
    # (test_shared_venv_satisfies_rendered_dependencies), so .venv points at it instead.
    (project / ".venv").symlink_to(BIN.parent)
    env = project_env()
    for command in commands[1:-1]:
        run(project, *shlex.split(command), env=env)

    port = free_port()
    server = subprocess.Popen(
        [*shlex.split(commands[-1]), f"PORT={port}"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz"), "make dev did not serve"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as page:
            assert page.status == 200
        # The second block: a user, then a notification from another process.
        second = readme_block(readme.split("## Quick start", 1)[1], "second shell")
        assert second[0].endswith("manage.py createsuperuser")
        run(
            project,
            *shlex.split(second[0]),
            "--noinput",
            "--username=ada",
            "--email=ada@example.com",
            env={**env, "DJANGO_SUPERUSER_PASSWORD": "ada-pass-1234"},
        )
        notify = run(project, *shlex.split(second[1].replace("<username>", "ada")), env=env)
        assert "next heartbeat" in notify
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "REDIS_URL is not set" in output


def wait_for_http(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except OSError:
            time.sleep(0.25)
    return False


# "Your first notification", followed as a reader would -------------------------------------
FENCED = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
INSTALL_APP = re.compile(r'Add `"(\w+)"` to `INSTALLED_APPS` in `config/settings.py`')


def readme_section(readme: str, heading: str) -> str:
    section = readme.split(f"\n{heading}\n", 1)[1]
    return section.split("\n## ", 1)[0]


def add_installed_app(settings: Path, app: str) -> None:
    text = settings.read_text()
    head, rest = text.split("INSTALLED_APPS = [\n", 1)
    apps, tail = rest.split("]\n", 1)
    settings.write_text(f'{head}INSTALLED_APPS = [\n{apps}    "{app}",\n]\n{tail}')


@pytest.mark.suite
@pytest.mark.parametrize("options", [SUITE_SETS[0].values[0], SUITE_SETS[1].values[0]], ids=set_id)
def test_readme_first_notification_runs_verbatim(tmp_path, options):
    project = render(options, tmp_path)
    readme = (project / "README.md").read_text()
    assert readme.split("\n## ")[2].startswith("Your first notification\n"), "the second section"
    section = readme_section(readme, "## Your first notification")
    blocks = FENCED.findall(section)
    # What a reader types: every line but the blank ones and the path each file block opens with.
    code = [
        line
        for language, body in blocks
        for line in body.splitlines()[(0 if language == "bash" else 1) :]
        if line.strip()
    ]
    assert len(code) < 40, f"{len(code)} lines of code and commands"
    (project / ".venv").symlink_to(BIN.parent)
    env = project_env()

    app = INSTALL_APP.search(section)
    assert app, "the section says which app to add to INSTALLED_APPS"
    outputs = []
    for index, (language, body) in enumerate(blocks):
        # Each step in the order the section gives it: commands, or a file named by its path.
        if language == "bash":
            for line in body.splitlines():
                command = line.split(" #", 1)[0].strip()
                if command:
                    outputs.append(run(project, *shlex.split(command), env=env))
        else:
            path = body.splitlines()[0].removeprefix("# ")
            (project / path).write_text(body)
        if index == 0:
            # The sentence after the first block: the app goes into INSTALLED_APPS.
            add_installed_app(project / "config" / "settings.py", app.group(1))

    assert re.search(r"\b1 passed in", outputs[-2].strip().splitlines()[-1])
    # The project stays clean, and its own tests of the category registry still pass with
    # the reader's category registered.
    run(project, str(BIN / "ruff"), "check", ".", env=env)
    run(project, str(BIN / "ruff"), "format", "--check", ".", env=env)
    registering = [
        str(path.relative_to(project))
        for path in project.rglob("test_*.py")
        if "categories.register(" in path.read_text() and ".venv" not in path.parts
    ]
    assert "notifications/tests/test_categories.py" in registering
    output = run(project, sys.executable, "-m", "pytest", "-q", *registering, env=env)
    assert "failed" not in output and "error" not in output
