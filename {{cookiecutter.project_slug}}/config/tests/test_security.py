"""The production settings (DEBUG off) as a process loads them: HSTS preload only when allowed."""

import os
import subprocess
import sys

import pytest

from notifications.tests.servers import PROJECT_DIR


def production_settings(**env: str) -> subprocess.CompletedProcess:
    """Import config.settings in a fresh process with DEBUG off and `env`; its outcome."""
    code = "import config.settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD)"
    environment = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "settings-test-not-a-secret",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hsts_defaults_leave_preload_off():
    result = production_settings()

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3600", "False"]


@pytest.mark.parametrize(("seconds", "subdomains"), [("3600", "true"), ("31536000", "false")])
def test_preload_below_what_the_preload_list_takes_fails_at_start(seconds, subdomains):
    result = production_settings(
        SECURE_HSTS_PRELOAD="true",
        SECURE_HSTS_SECONDS=seconds,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=subdomains,
    )

    assert result.returncode != 0
    assert "SECURE_HSTS_PRELOAD needs SECURE_HSTS_SECONDS>=31536000" in result.stderr


def test_preload_with_a_year_and_subdomains_is_accepted():
    result = production_settings(
        SECURE_HSTS_PRELOAD="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True"]
