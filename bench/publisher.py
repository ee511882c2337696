"""The sending side of the real-time benchmarks, in its own process.

    python publisher.py users COUNT PATH             # ours: create users, write ids and tokens
    python publisher.py create CONFIG_JSON           # ours: create_notification at a rate
    python publisher.py create CONFIG_JSON --floor   # floor: group_send of the same frame
    python publisher.py broadcast CONFIG_JSON        # ours: broadcasts a second apart
    python publisher.py notify_many COUNT            # ours: one notify_many to COUNT users
    python publisher.py write_cost COUNT             # CPU per create_notification vs an insert

Ours runs inside the rendered project (its working directory, its settings) and goes through
the public entry points only: `NotificationService.create_notification`, `broadcast`,
`notify_many`, then `events.flush()`. The floor sends the same frame shape with the channel
layer directly.

`create` and `broadcast` run in step with other publisher processes: once set up (Django, a
database connection, the channel layer), a process prints one line {"ready": ...} and waits
for a line on stdin holding the shared start time (time.monotonic(), the same clock in every
process of the machine). `create` takes {"rate", "seconds", "users", "broadcast_every",
"offset"}: call number n is due at start + offset + n / rate. It prints
{"created": [[id, t0, t_commit, t_return, user], ...], "broadcasts": [[id, t0], ...],
"late_ms": ..., ...} with t0 just before each call, t_commit when the call's COMMIT returned
(the rows are durable) and t_return when the call returned.
"""

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

from support import percentile, setup_django

MESSAGE = "Your report is ready to download."


def create_users(count: int, path: str) -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import AccessToken

    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"bench{n:06d}", password="!") for n in range(count)],
        batch_size=1000,
    )
    users = list(user_model.objects.filter(username__startswith="bench").order_by("pk")[:count])
    data = {
        "ids": [user.pk for user in users],
        "tokens": [str(AccessToken.for_user(user)) for user in users],
    }
    Path(path).write_text(json.dumps(data))


def paced(rate: float, seconds: float, start: float):
    """Yields (number, scheduled time) at `rate` per second for `seconds`; sleeps between."""
    for number in range(int(rate * seconds)):
        due = start + number / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield number, due


def wait_for_start(ready: dict) -> float:
    """Report ready (with `ready`'s figures); the start time the parent sends back."""
    print(json.dumps({"ready": True, **ready}), flush=True)
    return float(sys.stdin.readline())


def round_trips(count: int = 500) -> dict:
    """`SELECT 1` over the process's database connection: ms per round trip."""
    from django.db import connection

    durations = []
    with connection.cursor() as cursor:
        for _ in range(count):
            start = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            durations.append((time.perf_counter() - start) * 1000)
    return {
        "median": round(percentile(durations, 0.5), 3),
        "p99": round(percentile(durations, 0.99), 3),
    }


class CommitClock:
    """Times each COMMIT of the default database connection, and counts its statements."""

    def __init__(self) -> None:
        from django.db import connections

        self.connection = connections["default"]
        self.committed = 0.0
        self.statements = 0
        commit = self.connection.commit

        def timed_commit() -> None:
            commit()
            self.committed = time.monotonic()

        self.connection.commit = timed_commit
        # For the process's whole life (execute_wrapper() would remove it on exit).
        self.connection.execute_wrappers.append(self.count)

    def count(self, execute, sql, params, many, context):
        self.statements += 1
        return execute(sql, params, many, context)


def create_ours(config: dict) -> dict:
    setup_django()
    from notifications.stream import events
    from notifications.services import NotificationService

    users = config.get("users", [])
    every = config.get("broadcast_every") or 0
    rtt = round_trips() if config.get("round_trips") else None
    clock = CommitClock()
    created, broadcasts, late, statements = [], [], 0.0, 0
    usage_before = cpu_seconds()
    start = wait_for_start({}) + config.get("offset", 0.0)
    next_broadcast = start + every if every else float("inf")
    for number, due in paced(config["rate"], config["seconds"], start):
        user = users[number % len(users)]
        clock.committed, before = 0.0, clock.statements
        t0 = time.monotonic()
        late = max(late, t0 - due)
        notification_id = NotificationService.create_notification(user, MESSAGE).id
        returned = time.monotonic()
        statements += clock.statements - before
        created.append((notification_id, t0, clock.committed or returned, returned, user))
        if t0 >= next_broadcast:
            next_broadcast += every
            t0 = time.monotonic()
            broadcasts.append((NotificationService.broadcast("Maintenance at noon.").id, t0))
    sending = time.monotonic() - start
    drained = events.flush(120)
    return {
        "created": created,
        "broadcasts": broadcasts,
        "late_ms": round(late * 1000, 1),
        "send_seconds": round(sending, 2),
        "drained": drained,
        "rtt_ms": rtt,
        "statements": statements,
        "cpu_s": round(cpu_seconds() - usage_before, 2),
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def broadcast_ours(count: int, interval: float) -> dict:
    setup_django()
    from notifications.stream import events
    from notifications.services import NotificationService

    wait_for_start({})
    broadcasts = []
    for _ in range(count):
        t0 = time.monotonic()
        broadcasts.append((NotificationService.broadcast("Maintenance at noon.").id, t0))
        events.flush(60)
        time.sleep(interval)
    return {"created": [], "broadcasts": broadcasts, "drained": True}


def floor_frame(event: str, key: str, number: int) -> dict:
    """The shape and size of the project's frames, with no database behind it."""
    item = {
        "id": number,
        "category": "general",
        "level": 1,
        "level_label": "info",
        "title": "",
        "message": MESSAGE,
        "data": {},
        "actor": None,
        "target": None,
        "created_at": "2026-01-01T12:00:00.000000Z",
        "read_at": None,
        "is_read": False,
    }
    payload = {key: item, "unread_count": 1} if event == "created" else {key: item}
    return {"type": "notifications", "event": event, "payload": payload}


async def floor_send(config: dict) -> dict:
    import floor_asgi  # noqa: F401  (configures Django with the floor's channel layer)
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    users = config.get("users", [])
    rate, seconds = config["rate"], config["seconds"]
    every = config.get("broadcast_every") or 0
    count, interval = config.get("broadcast_count", 0), config.get("broadcast_interval", 0)
    # Ids unique across the publisher processes: each process numbers from its own base.
    first_id = config.get("first_id", 1)
    created, broadcasts, late = [], [], 0.0
    # Connect to Redis before the start, as ours connects to its database.
    await layer.group_send("notifications_warm_up", {"type": "notify.frame", "frame": {}})
    usage_before = cpu_seconds()
    loop = asyncio.get_running_loop()
    start = await loop.run_in_executor(None, wait_for_start, {}) + config.get("offset", 0.0)
    next_broadcast = start + every if every else float("inf")
    for number in range(int(rate * seconds)):
        due = start + number / rate
        if (delay := due - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        user = users[number % len(users)]
        t0 = time.monotonic()
        late = max(late, t0 - due)
        message = {
            "type": "notify.frame",
            "frame": floor_frame("created", "notification", first_id + number),
        }
        await layer.group_send(f"notifications_{user}", message)
        # No database: the frame is ready when the call starts, and sent when it returns.
        returned = time.monotonic()
        created.append((first_id + number, t0, t0, returned, user))
        if t0 >= next_broadcast:
            next_broadcast += every
            broadcasts.append((len(broadcasts) + 1, time.monotonic()))
            frame = floor_frame("broadcast", "broadcast", len(broadcasts))
            await layer.group_send(
                "notifications_broadcast", {"type": "notify.frame", "frame": frame}
            )
    # Ids unique across calls (the fan-out measure calls once per step), as ours are.
    for number in range(first_id, first_id + count):
        t0 = time.monotonic()
        frame = floor_frame("broadcast", "broadcast", number)
        await layer.group_send("notifications_broadcast", {"type": "notify.frame", "frame": frame})
        broadcasts.append((number, t0))
        await asyncio.sleep(interval)
    return {
        "created": created,
        "broadcasts": broadcasts,
        "late_ms": round(late * 1000, 1),
        "send_seconds": round(time.monotonic() - start, 2),
        "drained": True,
        "cpu_s": round(cpu_seconds() - usage_before, 2),
    }


def notify_many(count: int) -> dict:
    """One notify_many to `count` users, pushes included (until events.flush() returns)."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from notifications.stream import events
    from notifications.services import NotificationService

    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"many{n:06d}", password="!") for n in range(count)],
        batch_size=1000,
    )
    ids = list(user_model.objects.filter(username__startswith="many").values_list("pk", flat=True))
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            rows = NotificationService.notify_many(ids, MESSAGE)
        stored = time.perf_counter()
        drained = events.flush(120)
        done = time.perf_counter()
        runs.append(
            {
                "stored_ms": round((stored - start) * 1000, 1),
                "total_ms": round((done - start) * 1000, 1),
                "queries": len(queries.captured_queries),
                "rows": len(rows),
                "drained": drained,
            }
        )
    return {"users": count, "runs": runs, "vendor": connection.vendor}


def write_cost(count: int) -> dict:
    """CPU per `create_notification` next to one bare ORM insert of a Notification row.

    Both in this process on the same database, in alternating rounds of `count` calls, so
    both see the same machine. `caller` is the calling thread's CPU; `process` adds the
    publisher thread that sends the pushes.
    """
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from notifications.stream import events
    from notifications.models import Notification
    from notifications.services import NotificationService

    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"cost{n:03d}", password="!") for n in range(100)]
    )
    users = list(user_model.objects.filter(username__startswith="cost"))

    def ours(number: int) -> None:
        NotificationService.create_notification(users[number % 100], MESSAGE)

    def bare(number: int) -> None:
        Notification.objects.create(recipient=users[number % 100], message=MESSAGE)

    sides: dict[str, dict[str, list[float]]] = {
        name: {"caller": [], "process": [], "wall": []} for name in ("ours", "bare")
    }
    for side in (ours, bare):
        for number in range(50):  # warm-up: connections, caches, the publisher thread
            side(number)
    events.flush(60)
    for _ in range(5):
        for name, side in (("ours", ours), ("bare", bare)):
            thread, process, wall = time.thread_time(), cpu_seconds(), time.perf_counter()
            for number in range(count):
                side(number)
            events.flush(60)
            figures = sides[name]
            figures["caller"].append((time.thread_time() - thread) * 1e6 / count)
            figures["process"].append((cpu_seconds() - process) * 1e6 / count)
            figures["wall"].append((time.perf_counter() - wall) * 1e6 / count)
    medians = {
        name: {key: round(percentile(values, 0.5), 1) for key, values in figures.items()}
        for name, figures in sides.items()
    }
    return {"calls_per_round": count, "rounds": 5, "vendor": connection.vendor, **medians}


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "users":
        create_users(int(args[0]), args[1])
        return
    if mode == "notify_many":
        result = notify_many(int(args[0]))
    elif mode == "write_cost":
        result = write_cost(int(args[0]))
    else:
        config = json.loads(args[0])
        if "--floor" in args:
            result = asyncio.run(floor_send(config))
        elif mode == "broadcast":
            result = broadcast_ours(config["broadcast_count"], config["broadcast_interval"])
        else:
            result = create_ours(config)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
