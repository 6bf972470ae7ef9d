"""Daily demand (`DailyDemand`): kept by the order services, recomputed from the lines to check it.

One row per product × warehouse × day on which orders for it were placed (the order's local
placed date, in the project's time zone). Placing an order adds its lines to their days' rows and
cancelling adds the cancelled units to the row of the day the order was placed; each is one
set-based upsert whatever the number of lines, written in the service's own transaction after
the stock levels of those product × warehouse pairs are locked, so two services never race on a
row. Shipping and releasing change no demand.

`daily_demand_recomputed` derives the same rows from the order lines and their placement
allocations: the backfill for existing databases (migration, seeders) writes it, and
`manage.py check_stock` compares it with what is stored.
"""

# Statement text is assembled from model metadata; every value is a query parameter.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from common.bulk import _quoted, _values_source

from ..models import Allocation, AllocationKind, DailyDemand, OrderLine
from ..signals import demand_changed

# The stored counters, in the order the statements below write them.
COUNTERS = ("lines", "lines_filled", "units_ordered", "units_cancelled", "units_backordered")


def demand_day(placed_at: dt.datetime) -> dt.date:
    """The day an order counts on: its placed time's date in the project's time zone."""
    return timezone.localtime(placed_at, timezone.get_default_timezone()).date()


def _upsert(*, warehouse_id: int, day: dt.date, rows: Iterable[tuple[int, ...]]) -> None:
    """Add (product_id, *COUNTERS) to the rows of one warehouse and day, creating missing rows:
    one INSERT … ON CONFLICT DO UPDATE however many products."""
    rows = [list(row) for row in rows]
    if not rows:
        return
    table = _quoted(DailyDemand._meta.db_table)
    names = ["product_id", *COUNTERS]
    source, params = _values_source(DailyDemand, names, rows)
    day_value = DailyDemand._meta.get_field("day").get_db_prep_save(day, connection)
    cast = "::date" if connection.vendor == "postgresql" else ""
    columns = ", ".join(_quoted(name) for name in ["warehouse_id", "day", *names])
    picks = ", ".join(["%s", f"%s{cast}", *(f"v.{_quoted(name)}" for name in names)])
    updates = ", ".join(
        f"{_quoted(name)} = {table}.{_quoted(name)} + excluded.{_quoted(name)}" for name in COUNTERS
    )
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join condition.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {picks} FROM {source} WHERE 1 = 1 "
        f"ON CONFLICT (product_id, warehouse_id, day) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [warehouse_id, day_value, *params])
    demand_changed.send(
        sender=DailyDemand, warehouse_id=warehouse_id, product_ids=[row[0] for row in rows]
    )


def demand_add_placed(*, warehouse_id: int, placed_at: dt.datetime, lines: Iterable) -> None:
    """Count newly placed lines (each with quantity_ordered and the quantity_allocated placement
    gave it) on their order's day."""
    _upsert(
        warehouse_id=warehouse_id,
        day=demand_day(placed_at),
        rows=(
            (
                line.product_id,
                1,
                int(line.quantity_allocated == line.quantity_ordered),
                line.quantity_ordered,
                0,
                line.quantity_ordered - line.quantity_allocated,
            )
            for line in lines
        ),
    )


def demand_add_cancelled(
    *, warehouse_id: int, placed_at: dt.datetime, cancelled: Mapping[int, int]
) -> None:
    """Count cancelled units per product on the day their order was placed: they were never
    demand."""
    _upsert(
        warehouse_id=warehouse_id,
        day=demand_day(placed_at),
        rows=((product_id, 0, 0, 0, units, 0) for product_id, units in cancelled.items() if units),
    )


def daily_demand_recomputed(*, apps=None) -> QuerySet:
    """The rows DailyDemand should hold, from the order lines and their placement allocations:
    values product_id, warehouse_id, day and the counters. `apps` is a migration's app registry
    (the backfill runs on the models as they were then)."""
    allocations = apps.get_model("orders", "Allocation") if apps else Allocation
    lines = apps.get_model("orders", "OrderLine") if apps else OrderLine
    placed = (
        allocations.objects.filter(line_id=OuterRef("pk"), kind=AllocationKind.PLACEMENT.value)
        .order_by()
        .values("line_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return (
        lines.objects.annotate(
            given=Coalesce(Subquery(placed, output_field=IntegerField()), Value(0)),
            day=TruncDate("order__placed_at", tzinfo=timezone.get_default_timezone()),
            warehouse_id=F("order__warehouse_id"),
        )
        .values("product_id", "warehouse_id", "day")
        .annotate(
            lines=Count("id"),
            lines_filled=Count("id", filter=Q(given=F("quantity_ordered"))),
            units_ordered=Sum("quantity_ordered"),
            units_cancelled=Sum("quantity_cancelled"),
            units_backordered=Sum(F("quantity_ordered") - F("given")),
        )
        .order_by()
    )


def daily_demand_rebuild(*, apps=None) -> int:
    """Replace every DailyDemand row by the recomputation (two statements); returns the rows
    written. For existing databases (the migration) and bulk-loaded data (the seeders)."""
    model = DailyDemand if apps is None else apps.get_model("orders", "DailyDemand")
    model.objects.all().delete()
    sql, params = (
        daily_demand_recomputed(apps=apps)
        .values_list("product_id", "warehouse_id", "day", *COUNTERS)
        .query.sql_with_params()
    )
    table = _quoted(DailyDemand._meta.db_table)
    columns = ", ".join(_quoted(name) for name in ["product_id", "warehouse_id", "day", *COUNTERS])
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) {sql}", params)
        written = cursor.rowcount
    if apps is None:  # a migration runs before the receivers' tables exist
        demand_changed.send(sender=DailyDemand, warehouse_id=None, product_ids=None)
    return written


def daily_demand_add_lines(*, after_id: int) -> None:
    """Count order lines with an id above `after_id`, written in bulk with their placement
    allocations and never changed since (the demo's bulk writer), onto the stored rows: one
    INSERT … SELECT … ON CONFLICT DO UPDATE."""
    sql, params = (
        daily_demand_recomputed()
        .filter(pk__gt=after_id)
        .values_list("product_id", "warehouse_id", "day", *COUNTERS)
        .query.sql_with_params()
    )
    table = _quoted(DailyDemand._meta.db_table)
    names = ["product_id", "warehouse_id", "day", *COUNTERS]
    columns = ", ".join(_quoted(name) for name in names)
    updates = ", ".join(
        f"{_quoted(name)} = {table}.{_quoted(name)} + excluded.{_quoted(name)}" for name in COUNTERS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT * FROM ({sql}) AS added WHERE 1 = 1 "
            f"ON CONFLICT (product_id, warehouse_id, day) DO UPDATE SET {updates}",
            params,
        )
    demand_changed.send(sender=DailyDemand, warehouse_id=None, product_ids=None)
