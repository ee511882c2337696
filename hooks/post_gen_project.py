"""Remove the files of options not chosen and write a fresh secret into .env (no network)."""

import secrets
import shutil
from pathlib import Path

ROOT = Path.cwd()

OPTIONAL_PATHS = {
    "include_example_domain": [
        "tasks",
        "notifications/tests/browser/test_across_browsers.py",
        "notifications/tests/browser/test_action_buttons.py",
    ],
    "include_demo_ui": [
        "notifications/pages.py",
        "notifications/static",
        # Only the pages: the email templates beside them serve every option set.
        "notifications/templates/notifications/centre.html",
        "notifications/templates/notifications/preferences.html",
        "notifications/templates/notifications/bell.html",
        "notifications/templates/notifications/bell_example.html",
        "notifications/templatetags",
        "notifications/tests/test_demo_page.py",
        "notifications/tests/test_page_languages.py",
        # The scripts' translations.
        "notifications/locale/fr/LC_MESSAGES/djangojs.po",
        "notifications/locale/fr/LC_MESSAGES/djangojs.mo",
        "notifications/tests/browser",
    ],
    "use_docker": [
        "Dockerfile",
        ".dockerignore",
        "docker-compose.yml",
        "docker-compose.prod.yml",
        "deploy/healthcheck.py",
    ],
}
CHOICES = {
    "include_example_domain": "{{ cookiecutter.include_example_domain }}",
    "include_demo_ui": "{{ cookiecutter.include_demo_ui }}",
    "use_docker": "{{ cookiecutter.use_docker }}",
}
LICENSE = "{{ cookiecutter.open_source_license }}"


def remove(relative: str) -> None:
    path = ROOT / relative
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    if path.parent != ROOT and path.parent.is_dir() and not any(path.parent.iterdir()):
        path.parent.rmdir()


def write_env() -> None:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    secret_key = "".join(secrets.choice(alphabet) for _ in range(64))
    (ROOT / ".env").write_text(
        "# Read by every process started in this folder; never commit this file.\n"
        "# No DEBUG here: debug mode is asked for per command (`make dev` sets DEBUG=true).\n"
        f"SECRET_KEY={secret_key}\n"
        "# DATABASE_URL=postgres://user:password@127.0.0.1:5432/dbname\n"
        "# REDIS_URL=redis://127.0.0.1:6379/0\n"
    )


for option, paths in OPTIONAL_PATHS.items():
    if CHOICES[option] != "y":
        for relative in paths:
            remove(relative)

if LICENSE == "Not open source":
    remove("LICENSE")

write_env()
