"""Set-based statements for the services: one SQL statement whatever the number of rows.

Django's `bulk_update` writes a CASE WHEN per row, which PostgreSQL evaluates row by row against
every case (quadratic in the batch), and SQLite's variable limit splits long `IN` lists and
inserts into several statements. The helpers here pass each column as one value instead: a
PostgreSQL array unpacked with `unnest`, or on SQLite a JSON array read with `json_each`. So a
release to twenty thousand lines is still one INSERT and one UPDATE per table, on both databases.

Table and column names come from the models, never from input, so building the statement text
is safe. Values in the columns must already be what the database stores (integers, text, None);
constants that need converting (a timestamp) go in `constants`, through the field's own
conversion once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Model
from django.db.models.expressions import RawSQL


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _column_type(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    # A key column's own type is "bigserial"; the values in it are plain bigint.
    return field.rel_db_type(connection) if field.primary_key else field.db_type(connection)


def ids_in(ids: Iterable[int]) -> RawSQL:
    """A subquery over a list of ids for `pk__in=`: one parameter however long the list."""
    ids = list(ids)
    if _postgres():
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])


def pk_among(model: type[Model], ids: Iterable[int]) -> tuple[str, list]:
    """SQL text and params for "the row's key is one of ids", one parameter however long the
    list; on PostgreSQL `= ANY(array)`, which the primary key index answers in key order."""
    ids = list(ids)
    column = f"{_quoted(model._meta.db_table)}.{_quoted(model._meta.pk.column)}"
    if _postgres():
        return f"{column} = ANY(%s::bigint[])", [ids]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]  # noqa: S608


def pk_filter(model: type[Model], ids: Iterable[int]) -> RawSQL:
    """pk_among as a condition for `.filter()`."""
    sql, params = pk_among(model, ids)
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611 - names from the model


def _values_source(model: type[Model], names: Sequence[str], rows: Sequence[Sequence]):
    """A FROM item `v` with one column per name and one row per entry of rows, and its params."""
    columns = ", ".join(_quoted(name) for name in names)
    if _postgres():
        arrays = ", ".join(f"%s::{_column_type(model, name)}[]" for name in names)
        params = [[row[i] for row in rows] for i in range(len(names))]
        return f"unnest({arrays}) AS v({columns})", params
    picks = ", ".join(
        f"json_extract(value, '$[{i}]') AS {_quoted(name)}" for i, name in enumerate(names)
    )
    source = f"(SELECT {picks} FROM json_each(%s)) AS v"  # noqa: S608
    return source, [json.dumps(list(map(list, rows)))]


def column_add(model: type[Model], name: str, deltas: Mapping[int, int]) -> None:
    """Add a delta per primary key to an integer column, in one UPDATE."""
    columns_add(model, [name], {pk: (delta,) for pk, delta in deltas.items()})


def columns_add(
    model: type[Model], names: Sequence[str], deltas: Mapping[int, Sequence[int]]
) -> None:
    """Add a delta per primary key to each of several integer columns, in one UPDATE."""
    if not deltas:
        return
    table = _quoted(model._meta.db_table)
    pk = model._meta.pk.column
    rows = [(key, *values) for key, values in deltas.items()]
    source, params = _values_source(model, [pk, *names], rows)
    assignments = ", ".join(
        f"{_quoted(model._meta.get_field(name).column)} = "
        f"{table}.{_quoted(model._meta.get_field(name).column)} + v.{_quoted(name)}"
        for name in names
    )
    match = f"{table}.{_quoted(pk)} = v.{_quoted(pk)}"
    sql = f"UPDATE {table} SET {assignments} FROM {source} WHERE {match}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rows_insert(
    model: type[Model],
    *,
    names: Sequence[str],
    rows: Sequence[Sequence],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows (one value per name) plus columns equal on every row, in one INSERT."""
    if not rows:
        return
    constants = dict(constants or {})
    fields = [model._meta.get_field(name) for name in [*names, *constants]]
    target = ", ".join(_quoted(field.column) for field in fields)
    fixed = [
        model._meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in constants.items()
    ]
    source, params = _values_source(model, names, rows)
    # PostgreSQL would read an untyped constant as text; each one is cast to its column's type.
    casts = [f"%s::{_column_type(model, name)}" if _postgres() else "%s" for name in constants]
    picks = ", ".join([*(f"v.{_quoted(name)}" for name in names), *casts])
    table = _quoted(model._meta.db_table)
    sql = f"INSERT INTO {table} ({target}) SELECT {picks} FROM {source}"  # noqa: S608
    # The constants' placeholders come before the FROM item's in the statement text.
    with connection.cursor() as cursor:
        cursor.execute(sql, [*fixed, *params])
