"""bulk.insert_all: fan-out rows stored as bulk_create would store them, ids set in order."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Event, Notification
from notifications.stream import bulk
from notifications.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def copies(count: int) -> list[Notification]:
    """`count` rows of one notification for as many users, sharing its values as objects."""
    users = UserFactory.create_batch(count)
    data = {"kind": "report", "url": "/reports/7/"}
    actors = [{"id": users[0].pk, "username": users[0].username}]
    return [
        Notification(recipient=user, message="Report ready", data=data, actors=actors)
        for user in users
    ]


@pytest.mark.parametrize("count", [3, bulk.COPY_MIN_ROWS + 20])
def test_rows_are_stored_with_their_ids_in_order(count: int) -> None:
    rows = bulk.insert_all(copies(count))

    ids = [row.pk for row in rows]
    assert None not in ids
    assert ids == sorted(ids)
    assert all(not row._state.adding for row in rows)
    stored = Notification.objects.in_bulk(ids)
    for row in rows:
        assert stored[row.pk].recipient_id == row.recipient_id
        assert stored[row.pk].data == {"kind": "report", "url": "/reports/7/"}
        assert stored[row.pk].actors == row.actors
        assert stored[row.pk].created_at == row.created_at


def test_a_later_insert_gets_a_larger_id() -> None:
    rows = bulk.insert_all(copies(bulk.COPY_MIN_ROWS))

    later = Notification.objects.create(recipient_id=rows[0].recipient_id, message="next")

    assert later.pk > max(row.pk for row in rows)


def test_rows_that_differ_keep_their_own_values() -> None:
    users = UserFactory.create_batch(bulk.COPY_MIN_ROWS)
    rows = [
        Event(recipient=user, position=1, kind="created", payload={"notification": {"id": n}})
        for n, user in enumerate(users)
    ]

    bulk.insert_all(rows)

    payloads = dict(Event.objects.values_list("recipient_id", "payload"))
    assert payloads == {user.pk: {"notification": {"id": n}} for n, user in enumerate(users)}


def test_postgresql_streams_a_fan_out_with_copy_not_inserts() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's: run with DATABASE_URL=postgres://...")
    rows = copies(bulk.COPY_MIN_ROWS)

    with CaptureQueriesContext(connection) as queries:
        bulk.insert_all(rows)

    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2
    assert "nextval" in statements[0]
    assert statements[1].startswith('COPY "notifications_notification"')
    assert Notification.objects.filter(pk__in=[row.pk for row in rows]).count() == len(rows)
