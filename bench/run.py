"""Run the benchmarks against a freshly rendered project and write bench/RESULTS.md.

Renders the template with its defaults into a temporary directory, starts a throwaway
redis-server on a free loopback port, migrates a SQLite database, then runs each benchmark
script as its own process inside the project (one JSON line of figures each).

    .venv/bin/python bench/run.py [--only NAME ...] [--context KEY=VALUE ...] [--keep]
    .venv/bin/python bench/run.py --project PATH   # an already rendered project instead
"""

import argparse
import contextlib
import glob
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import capacity
import redis

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent
# Name -> (script, title, seconds it may take at most).
BENCHMARKS = {
    "push_cost": ("push_cost.py", "Push cost from sync code", 150),
    "burst": ("burst.py", "Burst delivery to a socket that is not reading", 90),
    "fanout": ("fanout.py", "Fan-out to 1,000 users", 120),
    "rest_list": ("rest_list.py", "REST inbox list and unread count", 150),
    "latency": ("realtime.py latency", "End-to-end latency, 500 sockets, 300/s", 240),
    "loss": ("realtime.py loss", "Loss over two daphne processes, 2,000 sockets", 300),
    "broadcast": ("realtime.py fanout", "Broadcast fan-out to 1,000 and 5,000 sockets", 600),
    "heartbeat": (
        "realtime.py heartbeat",
        "Heartbeat and memory per socket with 10,000 idle sockets",
        600,
    ),
    "notify_many": ("realtime.py notify_many", "notify_many to 10,000 users, PostgreSQL", 180),
    "write_cost": (
        "realtime.py write_cost",
        "CPU per create_notification next to a bare ORM insert, PostgreSQL",
        300,
    ),
    "rest_scale": ("rest_scale.py", "REST at 100k rows: SQLite, PostgreSQL, dj_notif", 600),
}
# These need the throwaway PostgreSQL cluster run.py starts (skipped without its binaries).
NEEDS_POSTGRES = {
    "latency",
    "loss",
    "broadcast",
    "heartbeat",
    "notify_many",
    "write_cost",
    "rest_scale",
}
PACKAGES = ["Django", "djangorestframework", "channels", "channels-redis", "redis", "asgiref"]


# Setting up -------------------------------------------------------------------------------


def render(workdir: Path, context: list[str]) -> Path:
    output = workdir / "rendered"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output)]
    if subprocess.run([*command, str(TEMPLATE), *context], cwd=TEMPLATE).returncode != 0:
        raise SystemExit("cookiecutter could not render the template (its error is above).")
    (project,) = [path for path in output.iterdir() if path.is_dir()]
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        sys.exit("redis-server not found: install it (Debian: apt-get install redis-server).")
    return found


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            *(redis_binary(), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                sys.exit(f"redis-server did not start on port {port}.")
            time.sleep(0.05)
    client.close()
    return process, url


def project_env(redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url,
        # Keeps bench/ free of __pycache__ from the helper imports.
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def start_postgres(workdir: Path) -> tuple[Callable[[], None], dict[str, str]]:
    """A throwaway PostgreSQL cluster (as the postgres user when root); its stop and env."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        return (lambda: None), {}
    bin_dir = Path(candidates[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="notify-bench-postgres-"))
    data, sockets, log = base / "data", base / "sockets", base / "postgres.log"
    sockets.mkdir()
    base.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run([*prefix, *initdb], check=True, capture_output=True)
    port = free_port()
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c max_connections=200 -c log_line_prefix=''"
    )
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    start = [*pg_ctl, "-o", options, "-l", str(log), "-w", "start"]
    subprocess.run([*prefix, *start], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([*prefix, *pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    url = f"postgres://postgres@127.0.0.1:{port}"
    return stop, {"BENCH_POSTGRES_URL": url, "BENCH_POSTGRES_LOG": str(log)}


def migrate(project: Path, env: dict[str, str], database: Path) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        check=True,
        cwd=project,
        env={**env, "DATABASE_URL": f"sqlite:///{database}"},
    )


# Running ----------------------------------------------------------------------------------


def run_benchmark(
    name: str, project: Path, env: dict[str, str], database: Path, redis_url: str
) -> dict:
    script, _, timeout = BENCHMARKS[name]
    if name == "rest_list" and not list_view_ready(project):
        return {"error": "skipped: notifications/views.py defines no NotificationListView"}
    if name in NEEDS_POSTGRES and "BENCH_POSTGRES_URL" not in env:
        return {"error": "skipped: no PostgreSQL server binaries (apt-get install postgresql)"}
    copy = database.with_name(f"{name}.sqlite3")
    shutil.copyfile(database, copy)
    with redis.Redis.from_url(redis_url) as client:
        client.flushall()
    start = time.perf_counter()
    # Its own process group: on a timeout its daphne, client and publisher processes go too.
    process = subprocess.Popen(
        [sys.executable, *(str(BENCH / w) if w.endswith(".py") else w for w in script.split())],
        cwd=project,
        env={**env, "DATABASE_URL": f"sqlite:///{copy}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"error": f"timed out after {timeout} s"}
    finally:
        # Whatever the benchmark left behind (it should leave nothing).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    completed = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    seconds = round(time.perf_counter() - start, 1)
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        tail = "\n".join(completed.stderr.strip().splitlines()[-40:])
        return {"error": f"exit status {completed.returncode}\n{tail}", "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def list_view_ready(project: Path) -> bool:
    views = project / "notifications" / "views.py"
    return views.is_file() and "class NotificationListView" in views.read_text()


# Reporting --------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    redis_version = subprocess.run(
        [redis_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    import sqlite3

    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu or platform.processor() or "unknown",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "redis-server": next((word[2:] for word in redis_version if word.startswith("v=")), "?"),
        "packages": ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES),
    }


def table(headers: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:,.0f}x" if fast else "n/a"


def push_cost_section(data: dict) -> list[str]:
    variants = [
        ("(a) `events.publish()` (background publisher)", data["publisher"]),
        ("(b) `async_to_sync(group_send)` per call", data["core_async_to_sync"]),
        ("(c) `async_to_sync(group_send)` per call", data["pubsub_async_to_sync"]),
    ]
    rows = []
    for label, figures in variants:
        layer = figures["layer"].rsplit(".", 1)[-1]
        calls = figures["call_us"]
        rows.append(
            [
                label,
                layer,
                calls["median"],
                calls["p99"],
                calls["max"],
                figures["total_ms"],
                figures["connections_opened"],
                figures["connections_still_open"],
                round(figures["commands"] / data["pushes"], 2),
            ]
        )
    publisher, core, pubsub = (figures for _, figures in variants)
    drained = "drained" if publisher["flushed"] else "not drained in 60 s"
    publisher_median, core_median, pubsub_median = (
        figures["call_us"]["median"] for figures in (publisher, core, pubsub)
    )
    return [
        f"{data['pushes']:,} pushes of one `created` frame ({data['frame_bytes']} bytes as "
        "JSON) to one group, from plain sync code. Per-call time is wall time around each "
        "call, in microseconds. Connections and commands are the differences in Redis "
        "`INFO` (`total_connections_received`, `connected_clients`, "
        "`total_commands_processed`) across each variant.",
        "",
        *table(
            [
                "variant",
                "layer",
                "median µs/push",
                "p99 µs/push",
                "max µs",
                "total ms",
                "Redis connections opened",
                "still open after",
                "Redis commands/push",
            ],
            rows,
        ),
        "",
        f"- (a) only enqueues; the {data['pushes']:,} pushes were then sent by the publisher "
        f"thread: `events.flush()` after the last call waited {publisher['flush_ms']} ms "
        f"({drained}), and Redis counted {publisher['publish']:,} PUBLISH commands over "
        f"{publisher['connections_opened']} connection(s).",
        f"- Median per push: (b) costs {ratio(core_median, publisher_median)} "
        f"and (c) {ratio(pubsub_median, publisher_median)} "
        "the time of (a). `async_to_sync` from a thread with no event loop runs a new loop in "
        "a new thread per call, and channels_redis keeps connections per loop, so (b) and (c) "
        "connect to Redis on every push "
        f"({core['connections_opened']:,} and {pubsub['connections_opened']:,} connections).",
        "- (b)'s group has one member channel, so `group_send` does its full work "
        "(group lookup and the capacity-checked Lua send).",
    ]


def burst_section(data: dict) -> list[str]:
    variants = [
        ("RedisChannelLayer, default capacity", data["core_default"]),
        ("RedisChannelLayer, capacity raised", data["core_raised"]),
        ("RedisPubSubChannelLayer (the project's layer)", data["pubsub"]),
    ]
    rows = [
        [
            label,
            figures.get("capacity", "none"),
            figures["sent"],
            figures["delivered"],
            figures["dropped"],
            figures["send_ms"],
        ]
        for label, figures in variants
    ]
    return [
        "One consumer channel joined to a group; a second layer instance sends "
        f"{data['messages']:,} `group_send` messages back to back; only then does the "
        "consumer start reading, until it has them all or nothing arrives for 1 s. "
        "Counts are messages.",
        "",
        *table(
            ["layer", "capacity (messages)", "sent", "delivered", "dropped", "send ms (all)"],
            rows,
        ),
        "",
        "- Neither the sender nor the consumer gets an error for the dropped messages; "
        'RedisChannelLayer only logs them at INFO ("channels over capacity").',
    ]


def fanout_section(data: dict) -> list[str]:
    variants = [
        ("`NotificationService.notify_many(users, ...)`", data["notify_many"]),
        ("loop of `create_notification(user, ...)`", data["create_loop"]),
    ]
    rows = [
        [
            label,
            figures["wall_ms"],
            figures["queries"],
            figures["rows"],
            figures["flush_ms"],
            "yes" if figures["flushed"] else "no",
            figures["pushes"],
        ]
        for label, figures in variants
    ]
    bulk, loop = data["notify_many"], data["create_loop"]
    return [
        f"The same notification to {data['users']:,} users (passed as User instances), SQLite, "
        "RedisPubSubChannelLayer. Wall ms is what the caller waits: rows stored, on-commit "
        "push frames built and queued. Queries are counted with `CaptureQueriesContext` "
        "(BEGIN and COMMIT included). Flush ms is the further wait in `events.flush()` until "
        "the publisher thread has sent everything; PUBLISH is counted by Redis.",
        "",
        *table(
            [
                "variant",
                "wall ms",
                "SQL queries",
                "rows stored",
                "flush ms after",
                "drained",
                "PUBLISH commands",
            ],
            rows,
        ),
        "",
        f"- The loop takes {ratio(loop['wall_ms'], bulk['wall_ms'])} the time and "
        f"{ratio(loop['queries'], bulk['queries'])} the queries of the bulk call.",
        "- On SQLite Django caps each INSERT at 999 parameters, so the bulk call splits the "
        "1,000 rows into several INSERT statements (PostgreSQL would take "
        "`BULK_BATCH_SIZE` = 500 rows each).",
    ]


def rest_section(data: dict) -> list[str]:
    pages = data["pages"]
    labels = {
        "page_size_20": "list, first page, page_size=20",
        "page_size_100": "list, first page, page_size=100",
        "page_size_20_deep": "list, page_size=20, halfway down (cursor)",
    }
    rows = [
        [label, page["ms"]["median"], page["ms"]["p99"], page["queries"], page["items"]]
        for key, label in labels.items()
        for page in [pages[key]]
    ]
    endpoint = data["unread_count_endpoint"]
    rows.append(
        [
            "`counts/` (unread and unseen per category)",
            endpoint["ms"]["median"],
            endpoint["ms"]["p99"],
            endpoint["queries"],
            "",
        ]
    )
    count = data["unread_count_sql"]
    count_rows = [
        [label, count[key]["median"], count[key]["p99"], ", ".join(count[key]["indexes"])]
        for key, label in [
            ("planned", "as SQLite plans it (no statistics)"),
            ("forced_unread_index", "`INDEXED BY notif_counts_idx`"),
            ("after_analyze", "after `ANALYZE`"),
        ]
    ]
    plans = data["plans"]
    selector = data["unread_count_selector_us"]
    return [
        f"One user holds {data['inbox']:,} notifications ({data['unread_count']:,} unread, 1% "
        f"soft-deleted) among {data['other_rows']:,} of 50 other users; SQLite. Requests go "
        "through Django's test client with a JWT `Authorization` header (no network); times "
        "are wall ms per request, queries are counted on the first request of each.",
        "",
        *table(["request", "median ms", "p99 ms", "SQL queries", "items"], rows),
        "",
        f"`selectors.counts(user)` alone: median {selector['median']:,} µs, "
        f"p99 {selector['p99']:,} µs.",
        "",
        "`counts/` reads one stream head row. The count over the notification table that a "
        "recount runs (and a read for a user with an expired item still counted), alone "
        "(µs per execution):",
        "",
        *table(["how", "median µs", "p99 µs", "index used"], count_rows),
        "",
        "`EXPLAIN QUERY PLAN` of the SQL the requests ran (notification table step):",
        "",
        "```",
        *[
            f"{name}: {step}"
            for name, plan in [
                ("list first page", plans["list_first_page"]),
                ("list cursor page", plans["list_cursor_page"]),
                ("unread count", count["planned"]),
                ("list after ANALYZE", count["list_after_analyze"]),
                ("unread count after ANALYZE", count["after_analyze"]),
            ]
            for step in plan["notification_steps"]
        ],
        "```",
        "",
        f"- Index used by the inbox query: `{indexes(plans['list_first_page'])}`; "
        f"by the unread count without statistics: `{indexes(count['planned'])}`.",
    ]


def indexes(plan: dict) -> str:
    return ", ".join(plan["indexes"]) or "none"


SECTIONS = {
    "push_cost": push_cost_section,
    "burst": burst_section,
    "fanout": fanout_section,
    "rest_list": rest_section,
    **capacity.SECTIONS,
}


def write_results(
    path: Path,
    results: dict,
    info: dict,
    command: str,
    context: list[str],
    seconds: float,
    source: str | None,
) -> None:
    answers = f" and {' '.join(context)}" if context else ""
    rendered = source or f"the template rendered with its defaults{answers}"
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {info['nproc']} CPUs (nproc), {info['cpu']}, {info['os']}",
        f"- Python {info['python']}, SQLite {info['sqlite']}, redis-server {info['redis-server']}",
        f"- Packages: {info['packages']}",
        f"- Command: `{command}`",
        f"- Project: {rendered}; "
        "settings `config.settings` with DEBUG=false, SQLite, `REDIS_URL` set (so the "
        "channel layer is `RedisPubSubChannelLayer`); a throwaway local redis-server.",
        f"- Total runtime: {seconds:.0f} s. All figures below come from this one run.",
        "",
        "## Summary: real-time capacity against the floor and dj_notif",
        "",
        *capacity.summary_lines(results),
        "",
        "## Sizing computed from these figures",
        "",
        *capacity.sizing_lines(results),
        "",
    ]
    for number, (name, (_, title, _)) in enumerate(BENCHMARKS.items(), start=1):
        if name not in results:
            continue
        data = results[name]
        lines += [f"## {number}. {title}", ""]
        if "error" in data:
            lines += ["Not measured:", "", "```", data["error"], "```", ""]
            continue
        section = SECTIONS.get(name, raw_section)
        lines += [*section(data), "", f"_Benchmark process: {data['seconds']} s._", ""]
    path.write_text("\n".join(lines))
    # Every figure as measured, for recomputing tables (capacity.py) without a rerun.
    path.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")


def raw_section(data: dict) -> list[str]:
    return ["```json", json.dumps(data, indent=1), "```"]


# Entry point -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS), default=[])
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a cookiecutter answer other than the default",
    )
    parser.add_argument(
        "--project",
        type=Path,
        help="benchmark this already rendered project instead of rendering the template",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the results (default: bench/RESULTS.md for a full run, "
        "bench/RESULTS.partial.md with --only, so a partial run never replaces the full one)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if args.output is None:
        args.output = BENCH / ("RESULTS.partial.md" if args.only else "RESULTS.md")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    redis_process = None
    stop_postgres: Callable[[], None] = lambda: None  # noqa: E731
    results: dict[str, dict] = {}
    try:
        project = args.project.resolve() if args.project else render(workdir, args.context)
        redis_process, redis_url = start_redis(workdir)
        stop_postgres, postgres = start_postgres(workdir)
        env = {
            **project_env(redis_url),
            **postgres,
            "BENCH_REDIS_PID": str(redis_process.pid),
            "BENCH_LOG_DIR": str(workdir / "logs"),
        }
        database = workdir / "migrated.sqlite3"
        migrate(project, env, database)
        for name in args.only or BENCHMARKS:
            print(f"running {name} ...", flush=True)
            results[name] = run_benchmark(name, project, env, database, redis_url)
            if "error" in results[name]:
                print(results[name]["error"], file=sys.stderr)
    finally:
        stop_postgres()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    seconds = time.perf_counter() - started
    command = " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]])
    source = f"the project at {args.project}" if args.project else None
    write_results(args.output, results, machine(), command, args.context, seconds, source)
    print(f"wrote {args.output} in {seconds:.0f} s")
    if not args.project and not args.only and capacity.write_readme_sizing(results):
        print(f"wrote the sizing table into {capacity.README}")
    return 1 if any("error" in data for data in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
