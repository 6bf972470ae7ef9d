"""Data the planning tests share: demand history as bare rows, supply terms, and finding a row."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from backoffice.integrity import level_counters_rebuild
from orders.services.demand import daily_demand_rebuild
from tests.factories import OrderLineFactory, SalesOrderFactory, SupplierProductFactory
from tests.helpers import level_for, today

DASHBOARD = "planning:reorder-dashboard"
DRAFT = "planning:reorder-draft-pos"
APPLY = "planning:reorder-apply-safety-stock"


def at(days_ago: int, hour: int = 0, minute: int = 5) -> dt.datetime:
    day = today() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def bulk_loaded() -> None:
    """What a bulk load does after writing bare order rows: the stored daily demand and the
    levels' backordered and on-order counters are recounted from the lines, as the seeders do."""
    daily_demand_rebuild()
    level_counters_rebuild()


def sold(product, warehouse, by_days_ago: dict[int, int], *, shipped: bool = True):
    """Demand history as bare rows: one order per day. Shipped lines leave no backorder, so they
    count as demand without changing projected stock; unshipped ones wait. Bare rows bypass the
    order services, so the stored totals are recounted afterwards (`bulk_loaded`)."""
    for days_ago, quantity in by_days_ago.items():
        order = SalesOrderFactory(warehouse=warehouse, placed_at=at(days_ago))
        OrderLineFactory(
            order=order,
            product=product,
            quantity_ordered=quantity,
            quantity_shipped=quantity if shipped else 0,
        )
    bulk_loaded()
    return level_for(product, warehouse)


def preferred(product, **terms):
    terms.setdefault("is_preferred", True)
    return SupplierProductFactory(product=product, **terms)


def row_for(rows, product, warehouse=None):
    matches = [
        r
        for r in rows
        if r.product_id == product.pk and (warehouse is None or r.warehouse_id == warehouse.pk)
    ]
    assert len(matches) == 1, matches
    return matches[0]
