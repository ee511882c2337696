"""Validate the answers before anything is written; exit 1 with one clear line on bad input."""

import keyword
import sys

SLUG = "{{ cookiecutter.project_slug }}"
DATABASE = "{{ cookiecutter.database }}"
USE_DOCKER = "{{ cookiecutter.use_docker }}"

# Names a project folder must not shadow: importing them from the project root would
# pick up the project instead of the library.
RESERVED = set(sys.stdlib_module_names) | {
    "django",
    "rest_framework",
    "rest_framework_simplejwt",
    "channels",
    "channels_redis",
    "daphne",
    "environ",
    "drf_spectacular",
    "psycopg",
    "redis",
    "config",
    "notifications",
    "tasks",
    "test",
    "tests",
}


def fail(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


if not SLUG.isidentifier() or keyword.iskeyword(SLUG):
    fail(
        f"project_slug {SLUG!r} is not a valid Python identifier: "
        "use lowercase letters, digits and underscores, starting with a letter."
    )
if SLUG.lower() != SLUG:
    fail(f"project_slug {SLUG!r} must be lowercase.")
if SLUG in RESERVED:
    fail(f"project_slug {SLUG!r} shadows a Python or Django module: choose another name.")
if DATABASE not in {"postgresql", "sqlite"}:
    fail(f"database {DATABASE!r} is not supported: choose postgresql or sqlite.")
for option, value in {"use_docker": USE_DOCKER}.items():
    if value not in {"y", "n"}:
        fail(f"{option} must be y or n, not {value!r}.")
