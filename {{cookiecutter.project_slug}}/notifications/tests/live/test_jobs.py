"""The job engine as production runs it: a Celery worker and beat against their own PostgreSQL
and Redis, through a database restart, connections cut under the worker, and a Redis restart.

Each outage is followed by the next scheduled runs doing their work: a prune deletes an event
past the retention window, and a digest reaches a real SMTP server on loopback. The liveness
check (`manage.py jobs_health`, the compose files' healthcheck) fails while the worker is down
and passes again once it is back.
"""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from notifications.tests.live.conftest import manage
from notifications.tests.servers import (
    HOST,
    PROJECT_DIR,
    PostgresServer,
    RedisServer,
    free_port,
    stop,
)

pytestmark = pytest.mark.live

# Seconds between the scheduled runs here; production runs them every minute or hour.
EVERY = 1
# Seconds each outage may take to be over, by the next run doing its work.
PATIENCE = 40

# An event ten days old (past the 7-day retention) and a notification due for a digest.
OLD_EVENT = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from notifications.models import Event
from notifications.services import NotificationService
address = name + "@example.com"
user, _ = get_user_model().objects.get_or_create(username=name, defaults=dict(email=address))
NotificationService.create_notification(user, "Invoice paid", category="payment")
event = Event.objects.filter(recipient=user).latest("id")
Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=10))
print(event.pk)
"""


class Mailbox:
    """An aiosmtpd handler that keeps the recipients of every message it accepts."""

    def __init__(self) -> None:
        self.recipients: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class Engine:
    """`celery worker` and `celery beat` processes, each restartable, logging to files."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.worker = self.start("worker", "--concurrency", "1")
        self.beat = self.start("beat", "--schedule", str(logs / "beat-schedule"))
        self.worker_restarts = 0

    def start(self, role: str, *args: str) -> subprocess.Popen:
        with (self.logs / f"{role}.log").open("a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", role, "-l", "INFO", *args],
                cwd=PROJECT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def restart_exited_worker(self) -> None:
        """What the deploy's `restart: unless-stopped` does for a worker that exited."""
        if self.worker.poll() is not None:
            self.worker_restarts += 1
            self.worker = self.start("worker", "--concurrency", "1")

    def healthy(self) -> bool:
        result = manage(self.env, "jobs_health", "--worker", check=False)
        return result.returncode == 0

    def log(self, tail: int = 4000) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        stop(self.worker)
        stop(self.beat)


def until(condition: Callable[[], bool], timeout: float = PATIENCE) -> float:
    """Seconds until `condition` held; fails past `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.2)
    return time.monotonic() - started


@pytest.fixture
def services(live_env, tmp_path) -> Iterator[tuple[PostgresServer, RedisServer, Mailbox, dict]]:
    postgres = PostgresServer()
    redis = RedisServer(tmp_path)
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname=HOST, port=free_port())
    try:
        postgres.start()
        redis.start()
        smtp.start()
        env = {
            **live_env,
            "DATABASE_URL": postgres.url("postgres"),
            "REDIS_URL": redis.url,
            "EMAIL_URL": f"smtp://{HOST}:{smtp.port}",
            # Connections are kept across jobs, so a cut one is met by the next job.
            "CONN_MAX_AGE": "600",
            "NOTIFICATIONS_EMAIL_DELAY_MINUTES": "0",
            "JOBS_DIGEST_SECONDS": str(EVERY),
            "JOBS_PRUNE_SECONDS": str(EVERY),
            "JOBS_HEARTBEAT_SECONDS": str(EVERY),
            "JOBS_STALE_SECONDS": "5",
            "LOG_LEVEL": "INFO",
        }
        manage(env, "migrate", "--noinput")
        yield postgres, redis, mailbox, env
    finally:
        smtp.stop()
        redis.stop()
        postgres.remove()


# Alone: under another test's load, Celery's reconnect after the Redis restart can race with
# the restart itself and the worker exits (kombu's redis transport), a failure of the machine's
# load rather than of the engine.
@pytest.mark.alone
def test_scheduled_jobs_survive_restarts_and_cut_connections(services, tmp_path):
    postgres, redis, mailbox, env = services
    database = psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"))
    database.autocommit = True

    def old_event(name: str) -> int:
        output = manage(env, "shell", "-c", f"name = {name!r}\n{OLD_EVENT}").stdout
        return int(output.strip().splitlines()[-1])

    def pruned(event_id: int) -> Callable[[], bool]:
        def check() -> bool:
            row = database.execute(
                "SELECT 1 FROM notifications_event WHERE id = %s", [event_id]
            ).fetchone()
            return row is None

        return check

    def mailed(name: str) -> Callable[[], bool]:
        """The digest reached the mail server and its transaction committed: a connection cut
        between the two would send it again (digests are sent at least once)."""

        def check() -> bool:
            row = database.execute(
                "SELECT count(*) FROM notifications_notification n JOIN auth_user u "
                "ON u.id = n.recipient_id WHERE u.username = %s AND n.emailed_at IS NULL",
                [name],
            ).fetchone()
            return f"{name}@example.com" in mailbox.recipients and row[0] == 0

        return check

    def next_runs_work(name: str, *, supervised: bool = False) -> float:
        """Seconds until both jobs did their work for a new old event and a new due item;
        `supervised`, with a worker that exits started again meanwhile."""
        started = time.monotonic()
        event_id = old_event(name)
        for check in (pruned(event_id), mailed(name)):
            until(restarting_worker(check) if supervised else check)
        return time.monotonic() - started

    def restarting_worker(check: Callable[[], bool]) -> Callable[[], bool]:
        def run() -> bool:
            engine.restart_exited_worker()
            return check()

        return run

    engine = Engine(env, tmp_path)
    figures: dict[str, float] = {}
    try:
        until(engine.healthy)
        figures["first runs"] = next_runs_work("before")

        database.close()
        postgres.stop()
        postgres.start()
        database = psycopg.connect(env["DATABASE_URL"].replace("postgres://", "postgresql://"))
        database.autocommit = True
        figures["after pg_ctl restart"] = next_runs_work("restarted")

        # Celery closes a job's connections when it ends: cut them while jobs run, for 3 s.
        cut, deadline = 0, time.monotonic() + 3
        while time.monotonic() < deadline:
            cut += database.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            time.sleep(0.02)
        assert cut >= 1, "no job's connection was cut"
        figures["connections cut"] = cut
        figures["after pg_terminate_backend"] = next_runs_work("terminated")

        redis.stop()
        redis.start()
        # kombu's Redis transport can exit the worker while it reconnects (an AttributeError in
        # restore_unacked); the deploy's `restart: unless-stopped` starts it again, as here.
        figures["after Redis restart"] = next_runs_work("redis", supervised=True)
        figures["worker restarts after Redis restart"] = engine.worker_restarts
        until(engine.healthy)

        engine.worker.kill()
        engine.worker.wait()
        figures["unhealthy after worker killed"] = until(lambda: not engine.healthy())
        engine.worker = engine.start("worker", "--concurrency", "1")
        figures["healthy after worker restarted"] = until(engine.healthy)
        figures["after worker restart"] = next_runs_work("again")

        names = ("before", "restarted", "terminated", "redis", "again")
        assert sorted(mailbox.recipients) == sorted(f"{name}@example.com" for name in names), (
            "each digest was sent once"
        )
    except BaseException:
        print(engine.log())
        raise
    finally:
        engine.stop()
        database.close()
    retries = engine.log(tail=10**9).count("Retry in")
    print({name: round(value, 1) for name, value in figures.items()}, f"{retries} retries")
