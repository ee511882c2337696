"""REST list and counts at 100k rows: ours on SQLite and PostgreSQL, dj_notif 0.2.2 on SQLite.

    python rest_scale.py          # run.py's way: SQLite here, then the other two as processes
    python rest_scale.py measure  # ours, on whatever DATABASE_URL names

Seeds one user with ROWS notifications among OTHER_ROWS of 50 other users (rest_list.py's
seed; on PostgreSQL then VACUUM ANALYZE, as autovacuum would), then times, with the Django
test client and a JWT header, the first list page (page_size 20), a page halfway down (by
cursor) and `counts/`, counting SQL queries.
dj_notif runs in its own venv (bench/.venvs/dj_notif, created on first use with
`pip install dj_notif==0.2.2` plus the workarounds in bench/README.md) via dj_notif_rest.py.
"""

import json
import os
import subprocess
import sys
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


def postgres_measure() -> dict:
    import psycopg

    server = os.environ["BENCH_POSTGRES_URL"]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "bench_rest"')
        connection.execute('CREATE DATABASE "bench_rest"')
    env = {**os.environ, "DATABASE_URL": f"{server}/bench_rest"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, env=env)
    return run_json([sys.executable, __file__, "measure"], env)


def dj_notif_python() -> Path:
    python = DJ_NOTIF_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DJ_NOTIF_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *DJ_NOTIF_PACKAGES], check=True
        )
    return python


def dj_notif_measure() -> dict:
    try:
        python = dj_notif_python()
    except subprocess.CalledProcessError as error:
        return {"error": f"dj_notif could not be installed: {error}"}
    return run_json([str(python), str(BENCH / "dj_notif_rest.py"), str(ROWS), str(OTHER_ROWS)])


def run_json(command: list[str], env: dict | None = None) -> dict:
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        return {"error": completed.stderr[-2000:]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:] == ["measure"]:
        emit(measure())
        return
    sqlite = run_json([sys.executable, __file__, "measure"], dict(os.environ))
    emit({"sqlite": sqlite, "postgresql": postgres_measure(), "dj_notif": dj_notif_measure()})


if __name__ == "__main__":
    main()
