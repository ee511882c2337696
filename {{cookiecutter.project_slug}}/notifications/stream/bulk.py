"""Bulk statements of writes and fan-outs: inserts built once per row count or one COPY, and
the id batches that updates and deletes go in.

Every notification and event is stored through here. Django builds an INSERT anew for each
`save()` or `bulk_create()` (several times the cost of running it): here the statement for a
model and a number of rows is built once per process, and the values go in as parameters.
"""

import functools
import json
from collections.abc import Iterator
from typing import Any, TypeVar

from django.db import connections, models, router
from psycopg.types.json import Json, Jsonb

M = TypeVar("M", bound=models.Model)

# Fewer rows than this go through bulk_create: COPY costs one more round trip (the ids).
COPY_MIN_ROWS = 100
# Rows per INSERT where bulk_create is used: stays within database parameter limits.
BULK_BATCH_SIZE = 500
# Ids per query when locking, updating or deleting rows by id: within database parameter limits.
BATCH_SIZE = 500
# Rows one transaction of a sweep (pruning, expiry, waking snoozed) takes: short transactions,
# no long table lock.
PRUNE_BATCH_SIZE = 5000


def clone(template: M) -> M:
    """An unsaved copy of `template`, sharing its values as objects; for building the many
    rows of a fan-out, several times cheaper than copy.copy() of a model instance.

    Values shared as the same object are prepared for the database once by insert_all.
    """
    row = object.__new__(type(template))
    row.__dict__.update(template.__dict__)
    state = object.__new__(type(template._state))
    state.__dict__.update(template._state.__dict__)
    # Related objects set on the template (the actor) stay cached on every copy.
    state.fields_cache = dict(template._state.fields_cache)
    row._state = state
    return row


def insert_all(rows: list[M]) -> list[M]:
    """Insert `rows` in order and set their primary keys; returns them.

    For a fan-out of 10,000 rows, bulk_create spends most of its time preparing and quoting
    every value of every row. Fan-out rows are mostly one notification's values for many
    recipients, so here a value that is the same object in every row is prepared once, and
    on PostgreSQL the rows are streamed with COPY, which has no parameters to quote. COPY
    returns nothing, so the ids are drawn from the table's sequence first, in the rows'
    order, as an INSERT would draw them.
    """
    if not rows:
        return rows
    model = type(rows[0])
    connection = connections[router.db_for_write(model)]
    if not connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
    if connection.vendor != "postgresql" or len(rows) < COPY_MIN_ROWS:
        for start in range(0, len(rows), BULK_BATCH_SIZE):
            _insert_values(rows[start : start + BULK_BATCH_SIZE], connection)
        return _saved(rows, connection)
    meta = model._meta
    fields = meta.concrete_fields
    pk_column = meta.pk.column if meta.pk is not None else "id"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk_column, len(rows)],
        )
        for row, (pk,) in zip(rows, sorted(cursor.fetchall()), strict=True):
            row.pk = pk
        shared = _prepared_shared_values(rows, fields, connection)
        template = [shared.get(field.attname) for field in fields]
        varying = [
            (index, field) for index, field in enumerate(fields) if field.attname not in shared
        ]
        columns = ", ".join(connection.ops.quote_name(str(field.column)) for field in fields)
        table = connection.ops.quote_name(meta.db_table)
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = template.copy()
                for index, field in varying:
                    values[index] = field.get_db_prep_save(getattr(row, field.attname), connection)
                copy.write_row(values)
    return _saved(rows, connection)


def _insert_values(rows: list[M], connection: Any) -> None:
    """INSERT ... VALUES ... RETURNING the ids, with a statement built once per row count."""
    model = type(rows[0])
    fields = _inserted_fields(model)
    shared = _prepared_shared_values(rows, fields, connection) if len(rows) > 1 else {}
    params: list[Any] = []
    for row in rows:
        for field in fields:
            if field.attname in shared:
                params.append(shared[field.attname])
            else:
                params.append(field.get_db_prep_save(getattr(row, field.attname), connection))
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, connection.alias, len(rows)), params)
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk


def _inserted_fields(model: type[models.Model]) -> list[Any]:
    """Every column but an auto-incremented primary key, which the database draws."""
    return [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and isinstance(field, models.AutoField | models.BigAutoField))
    ]


@functools.lru_cache(maxsize=64)
def _insert_sql(model: type[models.Model], alias: str, count: int) -> str:
    operations = connections[alias].ops
    fields = _inserted_fields(model)
    columns = ", ".join(operations.quote_name(str(field.column)) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk = model._meta.pk
    # Only quoted names and placeholders are formatted in; the values are parameters.
    return (
        f"INSERT INTO {operations.quote_name(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * count)} "
        f"RETURNING {operations.quote_name(str(pk.column if pk is not None else 'id'))}"
    )


def _saved(rows: list[M], connection: Any) -> list[M]:
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias
    return rows


def _prepared_shared_values(rows: list[M], fields: Any, connection: Any) -> dict[str, Any]:
    """Each field whose value is the same object in every row, prepared for the database once."""
    first = rows[0]
    shared = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(f"{field} sets its value on save: insert_all does not call pre_save.")
        value = getattr(first, field.attname)
        if field.primary_key or any(getattr(row, field.attname) is not value for row in rows):
            continue
        prepared = field.get_db_prep_save(value, connection)
        if isinstance(prepared, Json | Jsonb):
            # Written as JSON text once, rather than dumped again for every row.
            prepared = (prepared.dumps or json.dumps)(prepared.obj)
        shared[field.attname] = prepared
    return shared


def batches(values: list[int], size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """`values` in slices of at most `size`, one query or one event each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
