"""The capacity part of RESULTS.md: the summary table, the real-time sections, the sizing table.

    .venv/bin/python bench/capacity.py [bench/RESULTS.json] [--readme]   # print both tables

run.py calls `summary_lines()`, `SECTIONS` and `sizing_lines()`; run on its own, this module
recomputes the tables from the figures run.py saved, so the sizing can be redone without a
rerun. Targets are those of the capacity issue; a missing figure prints as "n/a".
"""

import json
import math
import sys
from pathlib import Path

# Traffic assumed per connected user for the sizing table.
NOTIFICATIONS_PER_USER_PER_MINUTE = 1.0
BROADCASTS_PER_HOUR = 6.0
HEARTBEAT_SECONDS = 25
# Share of a core a process or a Redis server may use at steady state: headroom for bursts.
CPU_BUDGET = 0.5
# Memory a daphne process may hold in sockets.
MEMORY_BUDGET_KB = 1024 * 1024
USERS = [10_000, 100_000, 1_000_000]


def get(data: dict, *path, default=None):
    for key in path:
        if not isinstance(data, dict) or key not in data or "error" in data:
            return default
        data = data[key]
    return data


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def ratio(ours, other) -> str:
    if not ours or not other:
        return "n/a"
    return f"{ours / other:,.2f}x"


def command(name: str) -> str:
    return f"`make bench` (alone: `.venv/bin/python bench/run.py --only {name}`)"


def summary_lines(results: dict) -> list[str]:
    latency, loss = results.get("latency", {}), results.get("loss", {})
    fanout, beat = results.get("broadcast", {}), results.get("heartbeat", {})
    many, rest = results.get("notify_many", {}), results.get("rest_scale", {})
    rows = []

    def row(measure, ours, floor, dj_notif, ratio_text, name):
        rows.append([measure, fmt(ours), fmt(floor), fmt(dj_notif), ratio_text, command(name)])

    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99 (target: within 2x floor)")):
        ours, floor = get(latency, "ours", key), get(latency, "floor", key)
        row(
            f"e2e latency {label}, ms, 500 sockets, 300/s",
            ours,
            floor,
            "n/a",
            ratio(ours, floor),
            "latency",
        )
    # The floor has no database: its push starts with its call, so its e2e is the reference.
    for key, label in (("push_p50_ms", "p50"), ("push_p99_ms", "p99")):
        ours, floor = get(latency, "ours", key), get(latency, "floor", key)
        row(
            f"push latency {label} from the commit, ms, 500 sockets, 300/s "
            "(floor: from its `group_send` call)",
            ours,
            floor,
            "n/a",
            ratio(ours, floor),
            "latency",
        )
    ours = get(latency, "ours", "call_p50_ms")
    row(
        "`create_notification` call p50, ms (floor: `group_send`)",
        ours,
        get(latency, "floor", "call_p50_ms"),
        "n/a",
        "n/a",
        "latency",
    )
    for key in ("lost", "duplicated"):
        ours, floor = get(loss, "ours", key), get(loss, "floor", key)
        row(
            f"{key} frames, 2,000 sockets / 2 daphnes, 30 s (target 0)",
            ours,
            floor,
            "n/a",
            "n/a",
            "loss",
        )
    for size in ("1000", "5000"):
        ours = get(fanout, "ours", "fanout", size, "frames_per_s")
        floor = get(fanout, "floor", "fanout", size, "frames_per_s")
        row(
            f"broadcast fan-out to {int(size):,} sockets, frames/s (target ≥ 4,000/core)",
            ours,
            floor,
            "n/a",
            ratio(ours, floor),
            "broadcast",
        )
        ours = get(fanout, "ours", "fanout", size, "cpu_us_per_frame")
        floor = get(fanout, "floor", "fanout", size, "cpu_us_per_frame")
        row(
            f"server CPU µs per frame, {int(size):,} sockets",
            ours,
            floor,
            "n/a",
            ratio(ours, floor),
            "broadcast",
        )
    ours = get(beat, "memory", "ours", "kb_per_socket")
    floor = get(beat, "memory", "floor", "kb_per_socket")
    row(
        "memory per idle socket, KB, 10,000 sockets (target ≤ 38)",
        ours,
        floor,
        "n/a",
        ratio(ours, floor),
        "heartbeat",
    )
    cost = results.get("write_cost", {})
    for key, label in (("caller", "calling thread"), ("process", "process, pushes included")):
        ours, bare = get(cost, "ours", key), get(cost, "bare", key)
        row(
            f"CPU µs per `create_notification`, {label}, PostgreSQL "
            "(dj_notif column: one bare ORM insert of the row; target ≤ 3x)",
            ours,
            "n/a",
            bare,
            ratio(ours, bare),
            "write_cost",
        )
    runs = get(many, "runs", default=[])
    best = min((run["total_ms"] for run in runs), default=None)
    row(
        "`notify_many` to 10,000 users + pushes, ms, PostgreSQL (target < 1,000)",
        best,
        "n/a",
        "n/a",
        "n/a",
        "notify_many",
    )
    row(
        "heartbeat: SQL statements per socket per beat, 10,000 sockets (target 0)",
        get(beat, "statements_per_beat"),
        "n/a",
        "n/a",
        "n/a",
        "heartbeat",
    )
    dj_list = get(rest, "dj_notif", "list", "median_ms")
    dj_counts = get(rest, "dj_notif", "counts", "median_ms")
    for vendor in ("sqlite", "postgresql"):
        ours = get(rest, vendor, "list", "ms", "median")
        queries = get(rest, vendor, "list", "queries")
        row(
            f"REST list first page at 100k rows, ms, {vendor} "
            f"({fmt(queries)} queries; target ≥ 100x dj_notif)",
            ours,
            "n/a",
            dj_list if vendor == "sqlite" else "n/a",
            ratio(dj_list, ours) if vendor == "sqlite" else "n/a",
            "rest_scale",
        )
        ours = get(rest, vendor, "counts", "ms", "median")
        queries = get(rest, vendor, "counts", "queries")
        row(
            f"REST unread counts at 100k rows, ms, {vendor} ({fmt(queries)} queries)",
            ours,
            "n/a",
            dj_counts if vendor == "sqlite" else "n/a",
            ratio(dj_counts, ours) if vendor == "sqlite" else "n/a",
            "rest_scale",
        )
    lines = ["| measure | us | floor | dj_notif | ratio | command |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return [
        "Ratio: ours ÷ floor (latency, CPU, memory: lower is better; frames/s: higher is "
        "better), or dj_notif ÷ ours for REST (how many times faster ours is). dj_notif's list "
        "has no pagination: its one request returns every row.",
        "",
        *lines,
    ]


# Sizing -------------------------------------------------------------------------------------


def sizing(results: dict) -> dict | None:
    """Per-user costs from the measured figures, and what N connected users need."""
    latency, fanout = results.get("latency", {}), results.get("broadcast", {})
    beat, loss = results.get("heartbeat", {}), results.get("loss", {})
    kb_per_socket = get(beat, "memory", "ours", "kb_per_socket")
    created_cpu = get(latency, "ours", "server_cpu_s")
    sent = get(latency, "ours", "sent")
    broadcast_us = get(fanout, "ours", "fanout", "5000", "cpu_us_per_frame")
    beat_cpu_percent = get(beat, "server_cpu_percent")
    if None in (kb_per_socket, created_cpu, sent, broadcast_us, beat_cpu_percent):
        return None
    created_us = created_cpu * 1e6 / sent
    beats_per_second = get(beat, "beats") / get(beat, "window_s")
    heartbeat_us = beat_cpu_percent / 100 * 1e6 / beats_per_second
    user_us_per_second = (
        NOTIFICATIONS_PER_USER_PER_MINUTE / 60 * created_us
        + BROADCASTS_PER_HOUR / 3600 * broadcast_us
        + heartbeat_us / HEARTBEAT_SECONDS
    )
    by_cpu = CPU_BUDGET * 1e6 / user_us_per_second
    by_memory = MEMORY_BUDGET_KB / max(kb_per_socket, 0.1)
    sockets_per_process = int(min(by_cpu, by_memory))
    limit = "CPU" if by_cpu < by_memory else "memory"
    published = get(loss, "ours", "notifications", default=0) + get(
        loss, "ours", "broadcasts", default=0
    )
    redis_us = get(loss, "ours", "redis_cpu_s", default=0) * 1e6 / published if published else None
    statements_per_beat = get(beat, "statements_per_beat", default=0) or 0
    # CPU a web worker spends per create_notification call: what the writes cost the app.
    call_cpu_ms = get(latency, "ours", "publisher_cpu_ms_per_call")
    rows = []
    for users in USERS:
        processes = math.ceil(users / sockets_per_process)
        writes = users * NOTIFICATIONS_PER_USER_PER_MINUTE / 60
        publish_rate = writes + BROADCASTS_PER_HOUR / 3600
        shards = math.ceil(publish_rate * redis_us / (CPU_BUDGET * 1e6)) if redis_us else None
        reads = users / HEARTBEAT_SECONDS * statements_per_beat
        rows.append(
            {
                "users": users,
                "processes": processes,
                "cores": processes,
                "redis_shards": max(1, shards) if shards is not None else None,
                "postgres_writes_per_s": round(writes),
                "heartbeat_reads_per_s": round(reads),
                "writer_cores": (
                    math.ceil(writes * call_cpu_ms / 1000 / CPU_BUDGET) if call_cpu_ms else None
                ),
            }
        )
    return {
        "created_us": created_us,
        "broadcast_us": broadcast_us,
        "heartbeat_us": heartbeat_us,
        "kb_per_socket": kb_per_socket,
        "redis_us_per_publish": redis_us,
        "sockets_by_cpu": int(by_cpu),
        "sockets_by_memory": int(by_memory),
        "sockets_per_process": sockets_per_process,
        "limit": limit,
        "rows": rows,
    }


def sizing_lines(results: dict) -> list[str]:
    plan = sizing(results)
    if plan is None:
        return ["Not computed: the latency, broadcast and heartbeat measures are all needed."]
    lines = [
        f"Assumed per connected user: {NOTIFICATIONS_PER_USER_PER_MINUTE:g} notification a "
        f"minute, {BROADCASTS_PER_HOUR:g} broadcasts an hour, a heartbeat every "
        f"{HEARTBEAT_SECONDS} s; each daphne process (single-threaded: one per core) and each "
        f"Redis kept at {CPU_BUDGET:.0%} of a core, at most {MEMORY_BUDGET_KB // 1024} MB of "
        "sockets per process. Measured costs in daphne: "
        f"{plan['created_us']:,.0f} µs CPU per `created` push, "
        f"{plan['broadcast_us']:,.0f} µs per broadcast frame, "
        f"{plan['heartbeat_us']:,.0f} µs per heartbeat, {plan['kb_per_socket']:,.1f} KB per "
        f"socket; Redis: {fmt(plan['redis_us_per_publish'])} µs CPU per PUBLISH (two "
        f"subscribers). So a process holds {plan['sockets_per_process']:,} sockets "
        f"(CPU allows {plan['sockets_by_cpu']:,}, memory {plan['sockets_by_memory']:,}: "
        f"{plan['limit']} limits).",
        "",
        "| connected users | daphne processes (= cores) | Redis shards "
        "| PostgreSQL writes/s | heartbeat reads/s | web-worker cores for the writes "
        "| limited by |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in plan["rows"]:
        lines.append(
            f"| {row['users']:,} | {row['processes']:,} | {fmt(row['redis_shards'])} | "
            f"{row['postgres_writes_per_s']:,} | {row['heartbeat_reads_per_s']:,} | "
            f"{fmt(row['writer_cores'])} | daphne {plan['limit']} |"
        )
    lines += [
        "",
        "PostgreSQL writes/s: one `create_notification` (one transaction: the row and its "
        "event) per notification. Heartbeat reads/s: the heartbeat's queries (one per 500 "
        "connected users of a process per beat), small next to the writes. Web-worker cores: "
        "the processes that call `create_notification` (views, tasks), at the measured CPU "
        "per call; `notify_many` costs far less per recipient.",
    ]
    return lines


# Sections -----------------------------------------------------------------------------------


def two_sided(data: dict, keys: list[tuple[str, str]]) -> list[str]:
    lines = ["| figure | ours | floor |", "|---|---|---|"]
    for key, label in keys:
        lines.append(
            f"| {label} | {fmt(get(data, 'ours', key))} | {fmt(get(data, 'floor', key))} |"
        )
    return lines


def latency_section(data: dict) -> list[str]:
    ours = data.get("ours", {})
    publishers = ours.get("publishers", 1)
    lines = [
        "`create_notification` called from "
        f"{publishers} publisher process(es) (ours, PostgreSQL), or `group_send` of the same "
        f"frame from as many (floor), 300 a second together for 10 s (each process "
        f"{300 / publishers:g}/s, its own share of the users, schedules interleaved), "
        "round-robin over 500 users with one socket each on one daphne process. One clock "
        "(CLOCK_MONOTONIC) in every process. e2e: socket receive minus the time just before "
        "the call. Push: socket receive minus the moment the call's COMMIT returned (the rows "
        "durable; the floor has no database, so its push starts with its call). Call: the "
        "call's wall time (ours returns after the commit and the on-commit work that queues "
        "the push). Worst lag: how far a call started after its scheduled time.",
        "",
        *two_sided(
            data,
            [
                ("p50_ms", "e2e p50 ms"),
                ("p99_ms", "e2e p99 ms"),
                ("max_ms", "e2e max ms"),
                ("push_p50_ms", "push from commit p50 ms"),
                ("push_p99_ms", "push from commit p99 ms"),
                ("push_max_ms", "push from commit max ms"),
                ("call_p50_ms", "call p50 ms"),
                ("call_p99_ms", "call p99 ms"),
                ("publisher_cpu_ms_per_call", "publisher CPU ms per call"),
                ("statements_per_call", "SQL statements per call (BEGIN, COMMIT not counted)"),
                ("sent", "sent"),
                ("lost", "not received"),
                ("publishers", "publisher processes"),
                ("publisher_late_ms", "publisher worst lag behind schedule, ms"),
                ("server_cpu_s", "daphne CPU s"),
                ("client_cpu_s", "client CPU s"),
            ],
        ),
    ]
    rtt = get(ours, "db_round_trip_ms", "median")
    statements, call = ours.get("statements_per_call"), ours.get("call_p50_ms")
    if rtt and statements and call:
        # psycopg sends BEGIN on its own before the first statement, then the COMMIT.
        trips = statements + 2
        lines += [
            "",
            f"PostgreSQL round trip in the same run (`SELECT 1` x500 from the first "
            f"publisher before the start): median {rtt:.3f} ms, p99 "
            f"{get(ours, 'db_round_trip_ms', 'p99'):.3f} ms. A call makes {statements:g} "
            f"statements plus BEGIN and COMMIT, about {trips:g} round trips = "
            f"{trips * rtt:.1f} ms of its {call:.1f} ms median "
            f"({100 * trips * rtt / call:.0f}%); the rest is Python (ORM, serialising).",
        ]
    return lines


def loss_section(data: dict) -> list[str]:
    return [
        "1,000 users, each with one socket on each of two daphne processes; 200 notifications "
        "a second for 30 s plus a broadcast every 2 s; every frame counted by id per socket.",
        "",
        *two_sided(
            data,
            [
                ("expected_frames", "frames expected"),
                ("lost", "lost"),
                ("duplicated", "duplicated"),
                ("unexpected", "unexpected ids"),
                ("closed_early", "sockets closed early"),
                ("publishers", "publisher processes"),
                ("publisher_late_ms", "publisher worst lag, ms"),
                ("server_cpu_s", "daphne CPU s (both)"),
                ("redis_cpu_s", "redis-server CPU s"),
                ("client_cpu_s", "client CPU s"),
            ],
        ),
    ]


def broadcast_section(data: dict) -> list[str]:
    lines = [
        "One daphne process; sockets opened in steps (1,000, then 5,000). At each: three "
        "broadcasts a second apart (ours: `NotificationService.broadcast` in another "
        "process). Frames/s: sockets reached ÷ (last receive - call), median of the three; "
        "CPU: daphne utime+stime over the broadcasts minus its idle rate, ÷ frames. Memory "
        "per idle socket is measured with the heartbeat's 10,000 sockets.",
        "",
        "| figure | ours | floor |",
        "|---|---|---|",
    ]
    for size in ("1000", "5000"):
        for key, label in (
            ("frames_per_s", "frames/s"),
            ("cpu_us_per_frame", "CPU µs/frame"),
            ("frames", "frames received"),
        ):
            lines.append(
                f"| {int(size):,} sockets: {label} | {fmt(get(data, 'ours', 'fanout', size, key))} "
                f"| {fmt(get(data, 'floor', 'fanout', size, key))} |"
            )
    for key, label in (
        ("connect_seconds", "seconds to open all sockets"),
        ("connect_failed", "sockets that failed to open"),
        ("client_cpu_s", "client CPU s"),
    ):
        lines.append(
            f"| {label} | {fmt(get(data, 'ours', key))} | {fmt(get(data, 'floor', key))} |"
        )
    return lines


def heartbeat_section(data: dict) -> list[str]:
    lines = [
        f"{fmt(data.get('sockets'))} idle sockets on one daphne process, heartbeat every "
        f"{data.get('interval_s')} s, PostgreSQL with `log_statement = 'all'` on the database; "
        f"statements logged during {data.get('window_s')} s (two beats of every socket), "
        "against heartbeat frames the clients received in that window.",
        "",
        "| beats | SQL statements | SELECTs | statements per beat | daphne CPU % | client CPU s |",
        "|---|---|---|---|---|---|",
        f"| {fmt(data.get('beats'))} | {fmt(data.get('statements'))} | {fmt(data.get('selects'))} "
        f"| {fmt(data.get('statements_per_beat'), 3)} | {fmt(data.get('server_cpu_percent'))} "
        f"| {fmt(data.get('client_cpu_s'))} |",
        "",
        "Memory per idle socket: VmRSS of the daphne process with the 10,000 sockets open minus "
        "before the first, ÷ 10,000; the floor's daphne opens as many sockets after ours.",
        "",
        "| figure | ours | floor |",
        "|---|---|---|",
    ]
    for key, label in (
        ("kb_per_socket", "KB per idle socket"),
        ("connect_seconds", "seconds to open all sockets"),
        ("connect_failed", "sockets that failed to open"),
    ):
        lines.append(
            f"| {label} | {fmt(get(data, 'memory', 'ours', key))} "
            f"| {fmt(get(data, 'memory', 'floor', key))} |"
        )
    for side in ("ours", "floor"):
        rss = get(data, "memory", side, "rss_kb", default={})
        if rss:
            lines.append("")
            lines.append(
                f"{side.capitalize()}, VmRSS KB by open sockets: "
                + ", ".join(f"{int(k):,}: {v:,}" for k, v in rss.items())
            )
    return lines


def notify_many_section(data: dict) -> list[str]:
    lines = [
        f"`NotificationService.notify_many(ids, ...)` to {fmt(data.get('users'))} users on "
        f"{data.get('vendor')}, three times; total = until `events.flush()` returned (every "
        "push sent to Redis).",
        "",
        "| run | stored ms | total ms (pushes included) | SQL queries | rows | drained |",
        "|---|---|---|---|---|---|",
    ]
    for number, run in enumerate(data.get("runs", []), start=1):
        lines.append(
            f"| {number} | {fmt(run['stored_ms'])} | {fmt(run['total_ms'])} | {run['queries']} "
            f"| {run['rows']:,} | {run['drained']} |"
        )
    return lines


def write_cost_section(data: dict) -> list[str]:
    lines = [
        f"`NotificationService.create_notification(user, ...)` against "
        f"`Notification.objects.create(...)` (one bare ORM insert of the row) on "
        f"{data.get('vendor')}, {fmt(data.get('calls_per_round'))} calls per round, "
        f"{fmt(data.get('rounds'))} alternating rounds; medians, µs per call.",
        "",
        "| call | caller thread CPU | process CPU (pushes included) | wall |",
        "|---|---|---|---|",
    ]
    for name, label in (("ours", "`create_notification`"), ("bare", "bare ORM insert")):
        side = data.get(name, {})
        lines.append(
            f"| {label} | {fmt(side.get('caller'))} | {fmt(side.get('process'))} "
            f"| {fmt(side.get('wall'))} |"
        )
    return lines


def rest_scale_section(data: dict) -> list[str]:
    lines = [
        "One user with 100,000 notifications among 20,000 of others. Ours: Django test client, "
        "JWT header, median of 50 requests; dj_notif 0.2.2: its own venv, SQLite, APIClient "
        "with `force_authenticate`, its list timed once (it returns every row).",
        "",
        "| request | ours SQLite ms | queries | ours PostgreSQL ms | queries "
        "| dj_notif ms | queries |",
        "|---|---|---|---|---|---|---|",
    ]
    dj = data.get("dj_notif", {})
    for key, dj_key, label in (
        ("list", "list", "list, first page"),
        ("list_deep", None, "list, page at 50,000 (cursor)"),
        ("counts", "counts", "unread counts"),
    ):
        cells = [label]
        for vendor in ("sqlite", "postgresql"):
            cells += [
                fmt(get(data, vendor, key, "ms", "median")),
                fmt(get(data, vendor, key, "queries")),
            ]
        cells += [
            fmt(get(dj, dj_key, "median_ms")) if dj_key else "n/a",
            fmt(get(dj, dj_key, "queries")) if dj_key else "n/a",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if "error" in dj:
        lines += ["", "dj_notif not measured:", "", "```", dj["error"][-1500:], "```"]
    return lines


SECTIONS = {
    "latency": latency_section,
    "loss": loss_section,
    "broadcast": broadcast_section,
    "heartbeat": heartbeat_section,
    "notify_many": notify_many_section,
    "write_cost": write_cost_section,
    "rest_scale": rest_scale_section,
}


README = (
    Path(__file__).resolve().parent.parent / "{{cookiecutter.project_slug}}" / "docs" / "scaling.md"
)
START, END = "<!-- sizing:start", "<!-- sizing:end -->"


def write_readme_sizing(results: dict, readme: Path = README) -> bool:
    """Put the sizing table into the generated docs/scaling.md; False if not computed."""
    if sizing(results) is None or not readme.is_file():
        return False
    text = readme.read_text()
    head, rest = text.split(START, 1)
    marker, _, _ = rest.partition("\n")
    _, tail = rest.split(END, 1)
    block = [f"{START}{marker}", *sizing_lines(results), END]
    readme.write_text(head + "\n".join(block) + tail)
    return True


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("--")]
    path = paths[0] if paths else Path(__file__).parent / "RESULTS.json"
    figures = json.loads(path.read_text())
    print("\n".join([*summary_lines(figures), "", *sizing_lines(figures)]))
    if "--readme" in sys.argv and write_readme_sizing(figures):
        print(f"wrote the sizing table into {README}")
