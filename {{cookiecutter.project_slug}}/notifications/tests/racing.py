"""Helpers for tests that race writers on PostgreSQL, each thread on its own connection."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

# Seconds a thread may wait on another before the test fails instead of hanging.
WAIT = 60

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs concurrent writers: SQLite runs one write transaction at a time; "
    "set DATABASE_URL to a PostgreSQL database",
)


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) on threads released together; each has its own connection.

    Returns each call's result, or the exception it raised.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(WAIT)
            results[index] = work(index)
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    return results


def failures(results: list[Any]) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]


def wait_for_lock_waiters(count: int) -> None:
    """Block until `count` sessions wait on a lock in this database: the race is set up."""
    with connection.cursor() as cursor:
        for _ in range(WAIT * 100):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
            if cursor.fetchone()[0] >= count:
                return
            threading.Event().wait(0.01)
    pytest.fail(f"{count} sessions never waited on a lock.")
