"""What one notification costs the database: three statements in its transaction, none built
by the ORM at the call, and no query after the commit."""

from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from notifications.services import NotificationService

pytestmark = pytest.mark.django_db(transaction=True)

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def test_create_notification_runs_three_statements_in_its_transaction(user):
    NotificationService.create_notification(user, "first: statements are built here, once")

    built: list[Any] = []
    original = SQLCompiler.as_sql

    def count_builds(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        built.append(self.query)
        return original(self, *args, **kwargs)

    with (
        CaptureQueriesContext(connection) as captured,
        mock.patch.object(SQLCompiler, "as_sql", count_builds),
    ):
        notification = NotificationService.create_notification(user, "second", title="T")

    statements = [query["sql"] for query in captured.captured_queries]
    begin = next(i for i, sql in enumerate(statements) if sql.startswith(("BEGIN", "SAVEPOINT")))
    end = next(i for i, sql in enumerate(statements) if sql.startswith(("COMMIT", "RELEASE")))
    inside = statements[begin + 1 : end]
    assert [sql.split("(")[0].strip() for sql in inside] == [
        'INSERT INTO "notifications_notification"',
        'INSERT INTO "notifications_streamhead" AS h',
        'INSERT INTO "notifications_event"',
    ]
    # Before it, only the user's choice for the category; after the commit, nothing: the
    # pushed frame's counts came back from the head row.
    before = [sql for sql in statements[:begin] if not sql.startswith(TRANSACTION_CONTROL)]
    after = [sql for sql in statements[end + 1 :] if not sql.startswith(TRANSACTION_CONTROL)]
    assert len(before) == 1
    assert "notifications_notificationpreference" in before[0]
    assert after == []
    assert built == []
    assert notification.pk is not None
