"""Real-time benchmarks: real daphne processes, real sockets, the project against the floor.

    python realtime.py latency|loss|fanout|heartbeat|notify_many|write_cost

Runs inside the rendered project (run.py sets the working directory and the environment:
REDIS_URL, BENCH_POSTGRES_URL and BENCH_POSTGRES_LOG of a throwaway PostgreSQL cluster).
Each measure starts its own daphne processes (ours: `config.asgi:application` on PostgreSQL;
the floor: `floor_asgi:application`), its client processes (ws_clients.py) and a publisher
process (publisher.py), and prints one JSON line. Nothing here asserts a timing.
"""

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import emit, percentile

BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"
PROJECT = Path.cwd()
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds() -> float:
    """CPU time of the benchmark's redis-server so far (run.py passes its pid)."""
    pid = os.environ.get("BENCH_REDIS_PID")
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def raise_open_files() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# Processes --------------------------------------------------------------------------------


class Daphne:
    """One daphne process serving ours (`config.asgi`) or the floor (`floor_asgi`)."""

    def __init__(self, env: dict[str, str], floor: bool, log: Path) -> None:
        self.port = free_port()
        self.floor = floor
        app = "floor_asgi:application" if floor else "config.asgi:application"
        env = {**env, "PYTHONPATH": str(BENCH)} if floor else env
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(self.port), app],
                cwd=PROJECT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=raise_open_files,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {log.read_text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("daphne did not listen")

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, user_id: int, token: str | None) -> str:
        query = f"user={user_id}" if self.floor else f"token={token}"
        return f"ws://{HOST}:{self.port}/ws/notifications/?{query}"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICK

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Clients:
    """Client processes (ws_clients.py), each holding its share of the sockets."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []
        self.connect_seconds = 0.0
        self.failed = 0

    def open(self, urls: list[str], origin: str, processes: int = 1) -> None:
        """Open the sockets, split over `processes` new client processes; wait until open."""
        started = []
        for share in range(processes):
            process = subprocess.Popen(
                [sys.executable, str(BENCH / "ws_clients.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=raise_open_files,
            )
            config = {"urls": urls[share::processes], "origin": origin, "concurrency": 100}
            process.stdin.write(json.dumps(config) + "\n")
            process.stdin.flush()
            started.append(process)
        start = time.monotonic()
        for process in started:
            reply = json.loads(process.stdout.readline())
            self.failed += reply["failed"]
        self.connect_seconds += time.monotonic() - start
        self.processes += started

    def ask(self, command: str) -> list[dict]:
        for process in self.processes:
            process.stdin.write(command + "\n")
            process.stdin.flush()
        return [json.loads(process.stdout.readline()) for process in self.processes]

    def status(self) -> dict:
        replies = self.ask("status")
        return {
            key: (max if key == "last" else sum)(reply[key] for reply in replies)
            for key in replies[0]
        }

    def wait_for(self, key: str, count: int, timeout: float, quiet: float = 1.0) -> dict:
        """Poll until `count` frames of `key` arrived, or nothing new came for `quiet` s."""
        deadline = time.monotonic() + timeout
        seen, changed = -1, time.monotonic()
        while time.monotonic() < deadline:
            status = self.status()
            if status[key] >= count:
                return status
            if status[key] != seen:
                seen, changed = status[key], time.monotonic()
            elif time.monotonic() - changed > quiet and seen > 0:
                return status
            time.sleep(0.05)
        return self.status()

    def stop(self) -> dict:
        """Close every socket; what each socket saw (in the order the URLs were given)."""
        replies = self.ask("stop")
        for process in self.processes:
            process.wait(timeout=60)
        groups = [reply["sockets"] for reply in replies]
        return {
            "groups": groups,
            "cpu_s": round(sum(reply["cpu_s"] for reply in replies), 2),
            "closed_early": sum(reply["closed_early"] for reply in replies),
        }


def unshare(groups: list[list[dict]]) -> list[dict]:
    """Undo the round-robin split of Clients.open for one call with len(groups) processes."""
    merged = []
    for index in range(max(len(group) for group in groups)):
        for group in groups:
            if index < len(group):
                merged.append(group[index])
    return merged


def publisher(
    env: dict[str, str], mode: str, config: dict, floor: bool, processes: int = 1
) -> dict:
    """Run `processes` publisher processes in step, each at rate/processes; merged results.

    Users are dealt round-robin and each process's schedule is offset so that the calls of all
    processes together stay evenly spaced at the configured rate. Broadcasts come from the
    first process only.
    """
    rate = config.get("rate", 0)
    users = config.get("users", [])
    with contextlib.ExitStack() as stack:
        started, errors = [], []
        for share in range(processes):
            part = {
                **config,
                "rate": rate / processes,
                "users": users[share::processes],
                "offset": share / rate if rate else 0.0,
                "broadcast_every": config.get("broadcast_every", 0) if share == 0 else 0,
                "round_trips": share == 0,
                "first_id": config.get("first_id_base", 0) + 1 + share * 10_000_000,
            }
            command = [sys.executable, str(BENCH / "publisher.py"), mode, json.dumps(part)]
            # A file, not a pipe: a process's warnings never block it while another is read.
            errors.append(stack.enter_context(tempfile.TemporaryFile("w+")))
            started.append(
                subprocess.Popen(
                    [*command, *(["--floor"] if floor else [])],
                    cwd=PROJECT,
                    env={**env, "PYTHONPATH": str(BENCH)},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors[-1],
                    text=True,
                )
            )

        def error_of(share: int) -> str:
            errors[share].seek(0)
            return errors[share].read()[-3000:]

        try:
            for share, process in enumerate(started):
                if not process.stdout.readline():
                    process.wait(timeout=30)
                    raise RuntimeError(error_of(share))
            # Every process is set up: one start time for all, a moment from now.
            start = time.monotonic() + 0.2
            replies = []
            for process in started:
                process.stdin.write(f"{start}\n")
                process.stdin.flush()
            for share, process in enumerate(started):
                stdout, _ = process.communicate(timeout=300)
                if process.returncode != 0:
                    raise RuntimeError(error_of(share))
                replies.append(json.loads(stdout.strip().splitlines()[-1]))
        finally:
            for process in started:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return {
        "created": sorted(
            (item for reply in replies for item in reply["created"]), key=lambda item: item[1]
        ),
        "broadcasts": [item for reply in replies for item in reply["broadcasts"]],
        "late_ms": max(reply.get("late_ms", 0.0) for reply in replies),
        "send_seconds": max(reply.get("send_seconds", 0.0) for reply in replies),
        "drained": all(reply["drained"] for reply in replies),
        "rtt_ms": replies[0].get("rtt_ms"),
        "statements": sum(reply.get("statements", 0) for reply in replies),
        "cpu_s": round(sum(reply.get("cpu_s", 0.0) for reply in replies), 2),
        "processes": processes,
    }


# PostgreSQL and users ---------------------------------------------------------------------


def postgres_env(name: str, heartbeat: int = 600) -> dict[str, str]:
    """The project's environment on a fresh, migrated PostgreSQL database `name`."""
    import psycopg

    server = os.environ["BENCH_POSTGRES_URL"]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": f"{server}/{name}",
        # A production deployment keeps its connections; 0 would reconnect on every call.
        "CONN_MAX_AGE": "60",
        "NOTIFICATIONS_HEARTBEAT_SECONDS": str(heartbeat),
        "JWT_ACCESS_MINUTES": "60",
        "ALLOWED_HOSTS": f"{HOST},localhost,testserver",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        check=True,
        cwd=PROJECT,
        env=env,
    )
    return env


def create_users(env: dict[str, str], count: int) -> tuple[list[int], list[str]]:
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    subprocess.run(
        [sys.executable, str(BENCH / "publisher.py"), "users", str(count), str(path)],
        check=True,
        cwd=PROJECT,
        env={**env, "PYTHONPATH": str(BENCH)},
    )
    data = json.loads(path.read_text())
    path.unlink()
    return data["ids"], data["tokens"]


def floor_env() -> dict[str, str]:
    return {**os.environ}


def workdir() -> Path:
    """A folder for daphne logs: inside run.py's temporary folder, removed with it."""
    parent = os.environ.get("BENCH_LOG_DIR")
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="bench-realtime-", dir=parent))


# Measures ---------------------------------------------------------------------------------


# Publisher processes for the paced measures, as a deployment calls create_notification from
# several web workers. One call is mostly Python CPU (a few ms; its database round trips are a
# small part), so more processes than cores only take CPU from daphne: one per core of a 2-core
# machine. The floor uses as many, so both sides send the same way. BENCH_PUBLISHERS overrides.
PUBLISHERS = int(os.environ.get("BENCH_PUBLISHERS", "2"))


def latency_side(floor: bool, users: list[int], tokens: list[str], env: dict, logs: Path) -> dict:
    rate, seconds = 300, 10
    server = Daphne(env, floor, logs / f"latency-{'floor' if floor else 'ours'}.log")
    clients = Clients()
    try:
        clients.open([server.url(u, t) for u, t in zip(users, tokens, strict=True)], server.origin)
        cpu_before = server.cpu_seconds()
        config = {"rate": rate, "seconds": seconds, "users": users}
        sent = publisher(env, "create", config, floor, PUBLISHERS)
        clients.wait_for("created", len(sent["created"]), timeout=30)
        server_cpu = server.cpu_seconds() - cpu_before
        seen = clients.stop()
    finally:
        server.stop()
    sockets = unshare(seen["groups"])
    by_user = dict(zip(users, sockets, strict=True))
    e2e, push, calls, lost = [], [], [], 0
    for notification_id, t0, committed, returned, user in sent["created"]:
        calls.append((returned - t0) * 1000)
        times = [t for got, t in by_user[user]["created"] if got == notification_id]
        if times:
            e2e.append((times[0] - t0) * 1000)
            push.append((times[0] - committed) * 1000)
        else:
            lost += 1
    calls_made = len(sent["created"])
    return {
        "sockets": len(users),
        "sent": calls_made,
        "rate": rate,
        "publishers": sent["processes"],
        "publisher_late_ms": sent["late_ms"],
        "send_seconds": sent["send_seconds"],
        "received": len(e2e),
        "lost": lost,
        **stats("", e2e),
        **stats("push_", push),
        **stats("call_", calls),
        "publisher_cpu_ms_per_call": round(sent["cpu_s"] * 1000 / calls_made, 2),
        "statements_per_call": round(sent["statements"] / calls_made, 2) if not floor else None,
        "db_round_trip_ms": sent["rtt_ms"],
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": seen["cpu_s"],
        "connect_failed": clients.failed,
    }


def stats(prefix: str, values: list[float]) -> dict:
    """p50, p99 and max of `values` (ms), keys prefixed; None when there are none."""
    return {
        f"{prefix}p50_ms": round(percentile(values, 0.5), 2) if values else None,
        f"{prefix}p99_ms": round(percentile(values, 0.99), 2) if values else None,
        f"{prefix}max_ms": round(max(values), 2) if values else None,
    }


def measure_latency() -> dict:
    logs = workdir()
    env = postgres_env("bench_latency")
    users, tokens = create_users(env, 500)
    return {
        "ours": latency_side(False, users, tokens, env, logs),
        "floor": latency_side(True, users, [""] * len(users), floor_env(), logs),
    }


def loss_side(floor: bool, users: list[int], tokens: list[str], env: dict, logs: Path) -> dict:
    rate, seconds, every = 200, 30, 2
    kind = "floor" if floor else "ours"
    servers = [Daphne(env, floor, logs / f"loss-{kind}-{n}.log") for n in range(2)]
    clients = Clients()
    try:
        # Each user has one socket on each server.
        urls = [s.url(u, t) for u, t in zip(users, tokens, strict=True) for s in servers]
        # Each socket sends its own server's origin, as a page served by that server would.
        clients.open(urls, "", processes=2)
        config = {"rate": rate, "seconds": seconds, "users": users, "broadcast_every": every}
        redis_before, cpu_before = redis_cpu_seconds(), [s.cpu_seconds() for s in servers]
        sent = publisher(env, "create", config, floor, PUBLISHERS)
        expected_created = 2 * len(sent["created"])
        clients.wait_for("created", expected_created, timeout=60, quiet=3)
        clients.wait_for("broadcast", len(sent["broadcasts"]) * len(urls), timeout=30, quiet=3)
        redis_cpu = redis_cpu_seconds() - redis_before
        server_cpu = sum(s.cpu_seconds() for s in servers) - sum(cpu_before)
        seen = clients.stop()
    finally:
        for server in servers:
            server.stop()
    sockets = unshare(seen["groups"])
    expected_by_user = {user: set() for user in users}
    for notification_id, *_, user in sent["created"]:
        expected_by_user[user].add(notification_id)
    broadcast_ids = {broadcast_id for broadcast_id, _ in sent["broadcasts"]}
    lost = duplicated = unexpected = 0
    for index, socket_frames in enumerate(sockets):
        user = users[index // 2]
        for expected, got in (
            (expected_by_user[user], [i for i, _ in socket_frames["created"]]),
            (broadcast_ids, [i for i, _ in socket_frames["broadcast"]]),
        ):
            distinct = set(got)
            lost += len(expected - distinct)
            duplicated += len(got) - len(distinct)
            unexpected += len(distinct - expected)
    return {
        "sockets": len(sockets),
        "servers": 2,
        "notifications": len(sent["created"]),
        "broadcasts": len(sent["broadcasts"]),
        "expected_frames": expected_created + len(broadcast_ids) * len(sockets),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "publishers": sent["processes"],
        "publisher_late_ms": sent["late_ms"],
        "redis_cpu_s": round(redis_cpu, 2),
        "server_cpu_s": round(server_cpu, 2),
        "closed_early": seen["closed_early"],
        "connect_failed": clients.failed,
        "client_cpu_s": seen["cpu_s"],
    }


def measure_loss() -> dict:
    logs = workdir()
    env = postgres_env("bench_loss")
    users, tokens = create_users(env, 1000)
    return {
        "ours": loss_side(False, users, tokens, env, logs),
        "floor": loss_side(True, users, [""] * len(users), floor_env(), logs),
    }


def fanout_step(server: Daphne, clients: Clients, sockets: int, env: dict, floor: bool) -> dict:
    """Broadcasts to `sockets` open sockets: frames/s and server CPU µs per frame."""
    broadcasts = 3
    idle_start, idle_cpu = time.monotonic(), server.cpu_seconds()
    time.sleep(2)
    idle_rate = (server.cpu_seconds() - idle_cpu) / (time.monotonic() - idle_start)
    before = clients.status()["broadcast"]
    start, cpu_before = time.monotonic(), server.cpu_seconds()
    config = {"broadcast_count": broadcasts, "broadcast_interval": 1.0, "rate": 0, "seconds": 0}
    # The floor numbers its broadcasts from first_id: one range per step.
    sent = publisher(env, "broadcast", {**config, "first_id_base": sockets}, floor)
    # A loaded daphne can pause for seconds between bursts of frames: a short quiet period
    # ended the wait early (5,000 of 15,000 frames counted).
    status = clients.wait_for("broadcast", before + broadcasts * sockets, timeout=90, quiet=10)
    window = time.monotonic() - start
    busy = server.cpu_seconds() - cpu_before - idle_rate * window
    frames = status["broadcast"] - before
    return {
        "sent": sent["broadcasts"],
        "frames": frames,
        "cpu_us_per_frame": busy * 1e6 / max(frames, 1),
    }


def fanout_side(floor: bool, users: list[int], tokens: list[str], env: dict, logs: Path) -> dict:
    kind = "floor" if floor else "ours"
    server = Daphne(env, floor, logs / f"fanout-{kind}.log")
    clients = Clients()
    steps = {}
    urls = [server.url(u, t) for u, t in zip(users, tokens, strict=True)]
    try:
        opened = 0
        for target, processes in ((1000, 1), (5000, 2)):
            clients.open(urls[opened:target], server.origin, processes=processes)
            opened = target
            time.sleep(1)
            steps[target] = fanout_step(server, clients, target, env, floor)
        status = clients.status()
        seen = clients.stop()
    finally:
        server.stop()
    frames_per_second = {}
    all_sockets = [s for group in seen["groups"] for s in group]
    for target, step in steps.items():
        rates = []
        for broadcast_id, t0 in step["sent"]:
            times = [t for s in all_sockets for i, t in s["broadcast"] if i == broadcast_id]
            if times:
                rates.append(len(times) / (max(times) - t0))
        frames_per_second[target] = round(sorted(rates)[len(rates) // 2]) if rates else None
    return {
        "fanout": {
            str(target): {
                "frames_per_s": frames_per_second[target],
                "cpu_us_per_frame": round(step["cpu_us_per_frame"], 1),
                "frames": step["frames"],
                "expected": 3 * target,
            }
            for target, step in steps.items()
        },
        "open_at_end": status["closed"] == 0,
        "connect_failed": clients.failed,
        "connect_seconds": round(clients.connect_seconds, 1),
        "client_cpu_s": seen["cpu_s"],
    }


def measure_fanout() -> dict:
    logs = workdir()
    env = postgres_env("bench_fanout")
    users, tokens = create_users(env, 5000)
    return {
        "ours": fanout_side(False, users, tokens, env, logs),
        "floor": fanout_side(True, users, [""] * len(users), floor_env(), logs),
    }


def idle_memory(server: Daphne, clients: Clients, urls: list[str], origin: str) -> dict:
    """VmRSS of `server` before and after opening `urls` (two client processes)."""
    time.sleep(1)
    before = server.rss_kb()
    clients.open(urls, origin, 2)
    time.sleep(1)
    after = server.rss_kb()
    # Per socket that opened: a loaded machine can time some handshakes out.
    opened = len(urls) - clients.failed
    return {
        "rss_kb": {"0": before, str(opened): after},
        "kb_per_socket": round((after - before) / max(opened, 1), 1),
        "connect_seconds": round(clients.connect_seconds, 1),
        "connect_failed": clients.failed,
    }


def measure_heartbeat() -> dict:
    """10,000 idle sockets: statements PostgreSQL logged per heartbeat, memory per socket.

    Ours beats every 5 s; the window holds two beats of every socket. The floor (no heartbeat,
    no database) opens as many sockets for the memory figure only.
    """
    import psycopg

    logs, interval, sockets = workdir(), 5, 10000
    window = 2 * interval
    env = postgres_env("bench_heartbeat", heartbeat=interval)
    users, tokens = create_users(env, sockets)
    log_path = Path(os.environ["BENCH_POSTGRES_LOG"])
    with psycopg.connect(f"{os.environ['BENCH_POSTGRES_URL']}/postgres", autocommit=True) as db:
        db.execute("ALTER DATABASE bench_heartbeat SET log_statement = 'all'")
    server = Daphne(env, False, logs / "heartbeat.log")
    clients = Clients()
    try:
        urls = [server.url(u, t) for u, t in zip(users, tokens, strict=True)]
        memory = idle_memory(server, clients, urls, server.origin)
        # Let the sockets settle into the process's shared beat before counting.
        time.sleep(interval)
        offset, beats_before = log_path.stat().st_size, clients.status()["heartbeat"]
        cpu_before, start = server.cpu_seconds(), time.monotonic()
        time.sleep(window)
        beats = clients.status()["heartbeat"] - beats_before
        elapsed = time.monotonic() - start
        cpu = server.cpu_seconds() - cpu_before
        with log_path.open("rb") as log:
            log.seek(offset)
            logged = log.read().decode(errors="replace")
        seen = clients.stop()
    finally:
        server.stop()
    floor = Daphne(floor_env(), True, logs / "memory-floor.log")
    floor_clients = Clients()
    try:
        floor_urls = [floor.url(user, None) for user in users]
        floor_memory = idle_memory(floor, floor_clients, floor_urls, floor.origin)
        floor_memory["client_cpu_s"] = floor_clients.stop()["cpu_s"]
    finally:
        floor.stop()
    statements = sum("statement: " in line for line in logged.splitlines())
    selects = sum("statement: SELECT" in line for line in logged.splitlines())
    return {
        "sockets": sockets,
        "interval_s": interval,
        "window_s": round(elapsed, 1),
        "beats": beats,
        "statements": statements,
        "selects": selects,
        "statements_per_beat": round(statements / beats, 3) if beats else None,
        "server_cpu_percent": round(100 * cpu / elapsed, 1),
        "connect_failed": clients.failed,
        "connect_seconds": memory["connect_seconds"],
        "client_cpu_s": seen["cpu_s"],
        "memory": {"ours": {**memory, "client_cpu_s": seen["cpu_s"]}, "floor": floor_memory},
    }


def measure_notify_many() -> dict:
    env = postgres_env("bench_notify_many")
    completed = subprocess.run(
        [sys.executable, str(BENCH / "publisher.py"), "notify_many", "10000"],
        cwd=PROJECT,
        env={**env, "PYTHONPATH": str(BENCH)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_write_cost() -> dict:
    env = postgres_env("bench_write_cost")
    completed = subprocess.run(
        [sys.executable, str(BENCH / "publisher.py"), "write_cost", "1000"],
        cwd=PROJECT,
        env={**env, "PYTHONPATH": str(BENCH)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def profile_daphne() -> dict:
    """Not part of `make bench`: py-spy samples our daphne under heartbeats and broadcasts.

    5,000 sockets, heartbeat every 5 s, a broadcast a second for 10 s. Needs `py-spy` (PyPI)
    next to this Python. Prints the functions holding most samples (own and with callees).
    """
    logs, sockets = workdir(), 5000
    env = postgres_env("bench_profile", heartbeat=5)
    users, tokens = create_users(env, sockets)
    server = Daphne(env, False, logs / "profile.log")
    clients = Clients()
    collapsed = logs / "daphne.collapsed"
    py_spy = Path(sys.executable).with_name("py-spy")
    try:
        clients.open(
            [server.url(u, t) for u, t in zip(users, tokens, strict=True)], server.origin, 2
        )
        recorder = subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                "14",
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(collapsed),
                "--nonblocking",
                "--function",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        config = {"broadcast_count": 10, "broadcast_interval": 1.0, "rate": 0, "seconds": 0}
        publisher(env, "broadcast", config, False)
        recorder.wait(timeout=60)
        clients.stop()
    finally:
        server.stop()
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        samples += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + int(count)

    def top(table: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(table.items(), key=lambda item: -item[1])[:25]
        return [(name, round(100 * count / samples, 1)) for name, count in ranked]

    return {
        "samples": samples,
        "own_percent": top(own),
        "total_percent": top(total),
        "raw": str(collapsed),
    }


MEASURES = {
    "latency": measure_latency,
    "loss": measure_loss,
    "fanout": measure_fanout,
    "heartbeat": measure_heartbeat,
    "notify_many": measure_notify_many,
    "write_cost": measure_write_cost,
    "profile": profile_daphne,
}


if __name__ == "__main__":
    raise_open_files()
    emit(MEASURES[sys.argv[1]]())
