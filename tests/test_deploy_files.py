"""Compose files, CI workflow, editor and pre-commit settings, parsed as their tools do."""

from pathlib import Path

import pytest
import yaml

from tests.option_sets import ALL_SETS, set_id

DOCKER_SETS = [options for options in ALL_SETS if options["use_docker"] == "y"]
REQUIRED = "${"  # compose interpolation: `${NAME:?message}` refuses to start when NAME is unset


def bake(cookies, options: dict[str, str]) -> Path:
    result = cookies.bake(extra_context=options)
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("options", DOCKER_SETS, ids=set_id)
def test_local_compose_mounts_the_code_in_debug(cookies, options):
    compose = load(bake(cookies, options) / "docker-compose.yml")
    services = compose["services"]
    web = services["web"]
    postgresql = options["database"] == "postgresql"

    assert ".:/app" in web["volumes"]
    assert web["environment"]["DEBUG"] == "true"
    assert web["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert web["environment"]["DATABASE_URL"].startswith("postgres://" if postgresql else "sqlite:")
    assert set(services) == (
        {"web", "worker", "redis", "db"} if postgresql else {"web", "worker", "redis"}
    )
    assert set(web["depends_on"]) == set(services) - {"web", "worker"}
    for name in set(services) - {"web"}:
        assert services[name]["healthcheck"]["test"], name
    worker = services["worker"]
    assert worker["environment"] == web["environment"], "the jobs run with the web settings"
    assert worker["command"][:5] == ["celery", "-A", "config", "worker", "--beat"]
    assert worker["healthcheck"]["test"][-2:] == ["jobs_health", "--worker"]


@pytest.mark.parametrize("options", DOCKER_SETS, ids=set_id)
def test_production_compose_takes_secrets_from_the_environment(cookies, options):
    compose = load(bake(cookies, options) / "docker-compose.prod.yml")
    services = compose["services"]
    postgresql = options["database"] == "postgresql"
    assert set(services) == (
        {"migrate", "web", "worker", "beat", "redis", "db"}
        if postgresql
        else {"migrate", "web", "worker", "beat", "redis"}
    )

    for name, service in services.items():
        environment = service.get("environment", {})
        assert "DEBUG" not in environment, f"{name} sets DEBUG"
        healthcheck = service["healthcheck"]
        if name == "migrate":
            assert healthcheck == {"disable": True}, "the one-shot exits instead of serving"
        else:
            assert healthcheck["test"][0] in ("CMD", "CMD-SHELL"), name

    web, migrate = services["web"], services["migrate"]
    for key in ("SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"):
        assert web["environment"][key].startswith(f"{REQUIRED}{key}:?"), key
    assert web["environment"] == migrate["environment"], "both run with the same settings"
    assert "migrate" in migrate["command"]
    assert migrate["restart"] == "no"
    assert web["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert web["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert web["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py"]
    for name, role in (("worker", "worker"), ("beat", "beat")):
        service = services[name]
        assert service["environment"] == web["environment"], "the jobs run with the web settings"
        assert service["command"][:4] == ["celery", "-A", "config", role], name
        assert "jobs_health" in service["healthcheck"]["test"], name
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert services["worker"]["healthcheck"]["test"][-1] == "--worker"
    assert all(port.startswith("127.0.0.1:") for port in web["ports"]), "only a local proxy"
    if postgresql:
        password = "${POSTGRES_PASSWORD:?"
        assert password in web["environment"]["DATABASE_URL"]
        assert services["db"]["environment"]["POSTGRES_PASSWORD"].startswith(password)
        assert web["depends_on"]["db"] == {"condition": "service_healthy"}
        assert migrate["depends_on"]["db"] == {"condition": "service_healthy"}
    else:
        assert web["environment"]["DATABASE_URL"] == "sqlite:////data/db.sqlite3"
        assert web["volumes"] == migrate["volumes"], "migrate and web share the database file"


def test_compose_files_are_pruned_without_docker(cookies):
    project = bake(cookies, {"use_docker": "n"})
    names = ("Dockerfile", ".dockerignore", "docker-compose.yml", "docker-compose.prod.yml")
    for name in (*names, "deploy/healthcheck.py"):
        assert not (project / name).exists(), name


@pytest.mark.parametrize("demo_ui", ["y", "n"])
def test_ci_workflow_lints_typechecks_and_tests_with_services(cookies, demo_ui):
    project = bake(cookies, {"include_demo_ui": demo_ui})
    workflow = load(project / ".github/workflows/ci.yml")
    jobs = workflow["jobs"]
    assert set(jobs) >= {"lint", "typecheck", "test"}

    def commands(job: str) -> str:
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    assert "make lint" in commands("lint")
    assert "make typecheck" in commands("typecheck")
    assert "make test" in commands("test")
    for job in jobs:
        assert "uv sync --locked" in commands(job), f"{job} installs from uv.lock"
    services = jobs["test"]["services"]
    assert set(services) >= {"postgres", "redis"}
    assert all("--health-cmd" in service["options"] for service in services.values())
    assert jobs["test"]["env"]["DATABASE_URL"].startswith("postgres://")
    assert ("chromium" in commands("test")) == (demo_ui == "y")
    # PyYAML reads the bare key `on` as True.
    assert set(workflow[True]) == {"push", "pull_request"}


def test_pre_commit_and_editorconfig(cookies):
    project = bake(cookies, {})
    hooks = [
        hook["id"]
        for repo in load(project / ".pre-commit-config.yaml")["repos"]
        for hook in repo["hooks"]
    ]
    assert {"ruff-check", "ruff-format", "trailing-whitespace", "end-of-file-fixer"} <= set(hooks)
    editorconfig = (project / ".editorconfig").read_text()
    assert "root = true" in editorconfig
    assert "[Makefile]\nindent_style = tab" in editorconfig


def test_dockerfile_installs_the_lock_before_copying_the_code(cookies):
    lines = [
        line.strip()
        for line in (bake(cookies, {}) / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def index(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    assert lines[0] == "ARG BASE_IMAGE=python:3.12-slim"
    assert [line for line in lines if line.startswith("FROM")] == [
        "FROM ${BASE_IMAGE} AS builder",
        "FROM ${BASE_IMAGE} AS runtime",
    ]
    assert index("COPY pyproject.toml uv.lock") < index("RUN /opt/uv/bin/uv sync --locked")
    assert index("RUN /opt/uv/bin/uv sync --locked") < index("COPY . .")
    assert index("COPY --from=builder /opt/venv") < index("COPY . .")
    assert index("COPY . .") < index("RUN SECRET_KEY=collectstatic-only") < index("USER app")
    assert lines[-1].startswith('CMD ["python", "manage.py", "serve"')
