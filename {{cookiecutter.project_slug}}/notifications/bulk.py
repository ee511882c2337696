"""Inserts for fan-outs: one COPY on PostgreSQL, `bulk_create` on other databases."""

import json
from typing import Any, TypeVar

from django.db import connections, models, router
from psycopg.types.json import Json, Jsonb

M = TypeVar("M", bound=models.Model)

# Fewer rows than this go through bulk_create: COPY costs one more round trip (the ids).
COPY_MIN_ROWS = 100
# Rows per INSERT where bulk_create is used: stays within database parameter limits.
BULK_BATCH_SIZE = 500


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
    if connection.vendor != "postgresql" or len(rows) < COPY_MIN_ROWS:
        return model._default_manager.bulk_create(rows, batch_size=BULK_BATCH_SIZE)
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
