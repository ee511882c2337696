"""REST list and counts at 100k rows: ours on SQLite and PostgreSQL, dj_notif 0.2.2 on SQLite.

    python rest_scale.py                      # run.py's way: the three, as processes
    python rest_scale.py measure [--in-step]  # ours, on whatever DATABASE_URL names

Seeds one user with ROWS notifications among OTHER_ROWS of 50 other users (rest_list.py's
seed; on PostgreSQL then VACUUM ANALYZE, as autovacuum would), then times, with the Django
test client and a JWT header, the first list page (page_size 20), a page halfway down (by
cursor) and `counts/`, counting SQL queries.
dj_notif runs in its own venv (bench/.venvs/dj_notif, created on first use with
`pip install dj_notif==0.2.2` plus the workarounds in bench/README.md) via dj_notif_rest.py.
The three processes seed their databases at the same time (`--in-step`: each prints a
"seeded" line and waits for a line on stdin), then are timed one after the other.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rest_list
from support import emit, setup_django

ROWS = 100_000
OTHER_ROWS = 20_000
REQUESTS = 50
BENCH = Path(__file__).resolve().parent
DJ_NOTIF_VENV = BENCH / ".venvs" / "dj_notif"
# pyasn1-modules: dj_notif/managers.py imports it but dj_notif does not declare it.
DJ_NOTIF_PACKAGES = ["dj_notif==0.2.2", "pyasn1-modules"]


def measure() -> dict:
    setup_django()
    from django.db import connection
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    rest_list.INBOX, rest_list.OTHER_ROWS = ROWS, OTHER_ROWS
    start = time.perf_counter()
    owner = rest_list.seed()
    seed_seconds = time.perf_counter() - start
    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: statistics for the planner, and the
        # visibility map without which an index-only scan still reads the table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE notifications_notification")
    if "--in-step" in sys.argv:
        print(json.dumps({"seeded": True}), flush=True)
        sys.stdin.readline()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(owner)}")
    deep = rest_list.cursor_page(client, ROWS // 2, 20)
    results = {
        "list": rest_list.timed_requests(client, f"{rest_list.LIST_URL}?page_size=20", REQUESTS),
        "list_deep": rest_list.timed_requests(client, deep, REQUESTS),
        "counts": rest_list.timed_requests(client, rest_list.COUNT_URL, REQUESTS),
    }
    for result in results.values():
        del result["sql"]
    return {"vendor": connection.vendor, "rows": ROWS, "seed_s": round(seed_seconds, 1), **results}


def postgres_env() -> dict[str, str]:
    import psycopg

    server = os.environ["BENCH_POSTGRES_URL"]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "bench_rest"')
        connection.execute('CREATE DATABASE "bench_rest"')
    env = {**os.environ, "DATABASE_URL": f"{server}/bench_rest"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, env=env)
    return env


def dj_notif_python() -> Path:
    python = DJ_NOTIF_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DJ_NOTIF_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *DJ_NOTIF_PACKAGES], check=True
        )
    return python


class InStep:
    """A measuring process that seeds at once and is timed when `measure()` is called."""

    def __init__(self, command: list[str], env: dict | None = None) -> None:
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in measure())
        self.process = subprocess.Popen(
            [*command, "--in-step"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
        )

    def seeded(self) -> bool:
        return bool(self.process.stdout.readline())

    def measure(self) -> dict:
        try:
            stdout, _ = self.process.communicate("go\n", timeout=600)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, _ = self.process.communicate()
        self.errors.seek(0)
        error = self.errors.read()[-2000:]
        self.errors.close()
        if self.process.returncode != 0 or not stdout.strip():
            return {"error": error or f"exit status {self.process.returncode}"}
        return json.loads(stdout.strip().splitlines()[-1])


def dj_notif_step() -> InStep | dict:
    try:
        python = dj_notif_python()
    except subprocess.CalledProcessError as error:
        return {"error": f"dj_notif could not be installed: {error}"}
    return InStep([str(python), str(BENCH / "dj_notif_rest.py"), str(ROWS), str(OTHER_ROWS)])


def main() -> None:
    if sys.argv[1:2] == ["measure"]:
        emit(measure())
        return
    # Seeding is most of this benchmark's time and times nothing: the three seed together.
    sqlite = InStep([sys.executable, __file__, "measure"], dict(os.environ))
    postgresql = InStep([sys.executable, __file__, "measure"], postgres_env())
    dj_notif = dj_notif_step()
    steps = {"sqlite": sqlite, "postgresql": postgresql, "dj_notif": dj_notif}
    for step in steps.values():
        if isinstance(step, InStep):
            step.seeded()
    emit(
        {name: step.measure() if isinstance(step, InStep) else step for name, step in steps.items()}
    )


if __name__ == "__main__":
    main()
