"""Rows waiting for a bulk insert, written parents first with their historical timestamps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction

from backoffice.integrity import level_counters_rebuild
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement
from orders.models import Allocation, Customer, OrderLine, Release, SalesOrder
from orders.services.demand import daily_demand_add_lines
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)

# Parents before children, so every foreign key has its primary key when its row is inserted.
# Parents go through bulk_create, which returns their keys; leaves are not referenced by anything,
# so they are written with a plain multi-row INSERT, without building a model instance per row.
PARENTS: tuple[type[models.Model], ...] = (
    Product,
    StockLevel,
    Supplier,
    SupplierProduct,
    Customer,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    SalesOrder,
    OrderLine,
    Release,
)
LEAVES: dict[type[models.Model], tuple[str, ...]] = {
    ShipmentLine: ("shipment", "purchase_order_line", "quantity"),
    Allocation: (
        "line",
        "quantity",
        "kind",
        "release",
        "shipment",
        "reason",
        "created_by",
        "created_at",
    ),
    StockMovement: (
        "level",
        "kind",
        "quantity",
        "balance_after",
        "reason",
        "reference",
        "created_by",
        "created_at",
    ),
    SafetyStockChange: ("level", "old_value", "new_value", "reason", "changed_by", "changed_at"),
}
INSERT_ORDER: tuple[type[models.Model], ...] = (*PARENTS, *LEAVES)
STAMPED = (
    (Product, "created_at"),
    (PurchaseOrder, "created_at"),
    (Shipment, "received_at"),
    (Release, "created_at"),
)
BATCH_SIZE = 2000


@contextmanager
def own_timestamps() -> Iterator[None]:
    """Let bulk inserts keep the historical times set on the rows instead of auto_now_add's now.

    Only for the seeding command; restored afterwards even on error."""
    fields = [model._meta.get_field(name) for model, name in STAMPED]
    saved = [field.auto_now_add for field in fields]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field, value in zip(fields, saved, strict=True):
            field.auto_now_add = value


Value = object | models.Model | Callable[[], str]


class Rows:
    """Rows waiting to be inserted.

    A leaf row is a mapping of field name to value, where a value may be a parent model instance
    (its primary key is used) or a function giving text that needs document numbers, which exist
    only once the parents are inserted."""

    def __init__(self) -> None:
        self.parents: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        self.leaves: dict[type[models.Model], list[dict[str, Value]]] = defaultdict(list)

    def add(self, row: models.Model) -> models.Model:
        self.parents[type(row)].append(row)
        return row

    def leaf(self, model: type[models.Model], **values: Value) -> None:
        self.leaves[model].append(values)

    def __len__(self) -> int:
        return sum(map(len, self.parents.values())) + sum(map(len, self.leaves.values()))

    def flush(self) -> None:
        with transaction.atomic(), own_timestamps():
            last_line = OrderLine.objects.order_by("-pk").values_list("pk", flat=True).first()
            for model in PARENTS:
                rows = self.parents.pop(model, [])
                if rows:
                    model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
            for model, names in LEAVES.items():
                rows = self.leaves.pop(model, [])
                if rows:
                    _insert(model, names, rows)
            # The lines just written are complete (placed, allocated, cancelled): their daily
            # demand is counted from them, as the order services would have counted it.
            daily_demand_add_lines(after_id=last_line or 0)
            # Likewise the levels' stored backordered and on-order counters, which the services
            # keep as they go: recounted from the lines and purchase orders now written.
            level_counters_rebuild()


def _insert(model: type[models.Model], names: tuple[str, ...], rows: list[dict]) -> None:
    fields = [model._meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    is_datetime = [isinstance(field, models.DateTimeField) for field in fields]
    adapt = connection.ops.adapt_datetimefield_value

    def prepared(row: dict) -> list:
        values = []
        for name, datetime in zip(names, is_datetime, strict=True):
            value = row.get(name)
            if isinstance(value, models.Model):
                value = value.pk
            elif callable(value):
                value = value()
            elif datetime and value is not None:
                value = adapt(value)
            values.append(value)
        return values

    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH_SIZE):
            cursor.executemany(sql, [prepared(row) for row in rows[start : start + BATCH_SIZE]])
