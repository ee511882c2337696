"""Counting a user's rows (the recount, and a user with an expired item still counted) reads
`notif_counts_idx` alone, never the table.

Each database runs its own test: the SQLite one by default, the PostgreSQL one when
DATABASE_URL points at PostgreSQL.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from notifications.stream import counters
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def counts_query_plan(user_id: int) -> str:
    """The database's plan for the query that counts a user's rows, one line per step."""
    statements: list[tuple[str, Any]] = []

    def capture(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        counters.counted_rows([user_id], now=timezone.now())
    [(sql, params)] = statements
    explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.fixture
def inbox(user, other_user) -> None:
    """Unread, read but unseen, and seen rows in two categories, and another user's."""
    now = timezone.now()
    NotificationFactory.create_batch(3, recipient=user, category="project")
    NotificationFactory(recipient=user, category="general", read_at=now)
    NotificationFactory(recipient=user, category="general", read_at=now, seen_at=now)
    NotificationFactory(recipient=user, category="general", expires_at=now)
    NotificationFactory(recipient=other_user, category="general")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_sqlite_counts_from_the_index_alone(user, inbox):
    plan = counts_query_plan(user.id)

    assert "USING COVERING INDEX notif_counts_idx" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index")
def test_postgresql_index_holds_every_column_the_counts_query_names(user):
    # PostgreSQL's choice of plan on a test's few rows depends on statistics other tests
    # leave behind, so this checks what an index-only scan needs: every column in the index.
    statements: list[str] = []

    def capture(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        counters.counted_rows([user.id], now=timezone.now())
    [sql] = statements
    named = set(re.findall(r'"notifications_notification"\."(\w+)"', sql))
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "notifications_notification")

    assert named, sql
    assert named <= set(constraints["notif_counts_idx"]["columns"]), named
