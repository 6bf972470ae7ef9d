"""Fixtures of the planning tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, level_for, place


def _days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _history(customer, warehouse, product, quantities, *, by):
    """One order a day going back from yesterday, for a demand history with some spread."""
    for days_ago, quantity in enumerate(quantities, start=1):
        place(customer, warehouse, [(product, quantity)], by=by, placed_at=_days_ago(days_ago))


@pytest.fixture
def shop(db, staff_user):
    """WIDGET-1 at MAIN runs short with backorders waiting (bought from Northwind in packs of 12,
    at least 24); GADGET-2 sells out at MAIN and has no supplier; WIDGET-1 also sells out at
    EAST. Only WIDGET-1 at MAIN is urgent."""
    main, east = WarehouseFactory(code="MAIN"), WarehouseFactory(code="EAST")
    northwind = SupplierFactory(name="Northwind Supply")
    widget = ProductFactory(sku="WIDGET-1", name="Blue widget")
    gadget = ProductFactory(sku="GADGET-2", name="Red gadget")
    SupplierProductFactory(
        supplier=northwind,
        product=widget,
        unit_cost=Decimal("2.50"),
        lead_time_days=10,
        pack_size=12,
        min_order_qty=24,
        is_preferred=True,
    )
    customer = CustomerFactory(name="Acme Hardware")
    give_stock(widget, main, 10, by=staff_user)
    # Exactly what their customers took: projected 0, nobody waiting, so not urgent.
    give_stock(gadget, main, 6, by=staff_user)
    give_stock(widget, east, 10, by=staff_user)
    _history(customer, main, widget, [4, 6, 2, 8, 5], by=staff_user)
    _history(customer, main, gadget, [3, 1, 2], by=staff_user)
    _history(customer, east, widget, [7, 3], by=staff_user)
    return {
        "main": main,
        "east": east,
        "northwind": northwind,
        "widget": widget,
        "gadget": gadget,
        "widget_main": level_for(widget, main),
        "widget_east": level_for(widget, east),
        "gadget_main": level_for(gadget, main),
    }
