"""inventory.selectors: the stock overview, the ledger and stock over time."""

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from inventory.selectors import product_ledger, stock_over_time, stock_overview
from inventory.services import safety_stock_set, stock_adjust
from orders.services import order_cancel
from suppliers.models import PurchaseOrderLine
from suppliers.services import purchase_order_create, shipment_receive
from tests.factories import CustomerFactory, ProductFactory, SupplierFactory, WarehouseFactory
from tests.helpers import give_stock, level_for, place, sent_po


@pytest.fixture
def east(db):
    return WarehouseFactory(code="EAST", name="East warehouse")


def overview_row(product, warehouse, **filters):
    return stock_overview(**filters).get(product=product, warehouse=warehouse)


def test_stock_overview_annotates_available_backordered_on_order_and_projected(
    staff_user, manager_user, product, warehouse
):
    give_stock(product, warehouse, 10, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)  # allocated 6
    place(CustomerFactory(), warehouse, [(product, 9)], by=staff_user)  # takes 4, waits 5
    supplier = SupplierFactory()
    sent_po(supplier, warehouse, [(product, 20)], by=manager_user)
    partial = sent_po(supplier, warehouse, [(product, 8)], by=manager_user)
    receive_line = PurchaseOrderLine.objects.get(purchase_order=partial)
    shipment_receive(
        purchase_order_id=partial.pk,
        quantities={receive_line.pk: 3},
        idempotency_key="k-1",
        by=staff_user,
    )
    purchase_order_create(  # drafts are not on order
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 100, "1.00")],
        by=manager_user,
    )

    row = overview_row(product, warehouse)
    # on_hand 13 (10 + 3 received); allocated 10; 3 free (owed to the 5 waiting).
    assert (row.on_hand, row.allocated, row.available_qty) == (13, 10, 3)
    assert row.backordered == 5
    assert row.on_order == 20 + 5
    assert row.projected == 13 + 25 - 10 - 5


def test_stock_overview_rows_without_activity_are_zero(product, warehouse):
    level_for(product, warehouse)
    row = overview_row(product, warehouse)
    assert (row.available_qty, row.backordered, row.on_order, row.projected) == (0, 0, 0, 0)


def test_stock_overview_keeps_warehouses_apart(staff_user, manager_user, product, warehouse, east):
    give_stock(product, warehouse, 5, by=staff_user)
    level_for(product, east)
    place(CustomerFactory(), east, [(product, 4)], by=staff_user)
    sent_po(SupplierFactory(), east, [(product, 7)], by=manager_user)
    main, other = overview_row(product, warehouse), overview_row(product, east)
    assert (main.backordered, main.on_order, main.projected) == (0, 0, 5)
    assert (other.backordered, other.on_order, other.projected) == (4, 7, 3)


def test_stock_overview_filters_by_warehouse(staff_user, product, warehouse, east):
    level_for(product, warehouse)
    level_for(product, east)
    assert [lv.warehouse.code for lv in stock_overview(warehouse_id=east.pk)] == ["EAST"]
    assert [lv.warehouse.code for lv in stock_overview()] == ["EAST", "MAIN"]


def test_stock_overview_search_matches_sku_or_name(product, warehouse):
    level_for(product, warehouse)  # WIDGET-1, Blue widget
    level_for(ProductFactory(sku="BOLT-9", name="Steel bolt"), warehouse)
    assert [lv.product.sku for lv in stock_overview(search="widg")] == ["WIDGET-1"]
    assert [lv.product.sku for lv in stock_overview(search=" steel ")] == ["BOLT-9"]
    assert [lv.product.sku for lv in stock_overview(search="bolt-9")] == ["BOLT-9"]
    assert list(stock_overview(search="nothing-like-it")) == []


def test_stock_overview_below_safety_stock_compares_available(staff_user, warehouse):
    low, fine, unset = (
        ProductFactory(sku="A-LOW"),
        ProductFactory(sku="B-OK"),
        ProductFactory(sku="C-NONE"),
    )
    for product, stock, safety in ((low, 10, 5), (fine, 10, 5), (unset, 0, 0)):
        level = (
            give_stock(product, warehouse, stock, by=staff_user)
            if stock
            else level_for(product, warehouse)
        )
        if safety:
            safety_stock_set(level_ids=[level.pk], value=safety, by=staff_user)
    place(CustomerFactory(), warehouse, [(low, 6)], by=staff_user)  # available 4 < 5
    place(CustomerFactory(), warehouse, [(fine, 5)], by=staff_user)  # available 5, not below
    assert [lv.product.sku for lv in stock_overview(below_safety_stock=True)] == ["A-LOW"]


def test_stock_overview_has_backorders_filter(staff_user, warehouse, east):
    waiting, stocked = ProductFactory(sku="A-WAIT"), ProductFactory(sku="B-STOCK")
    give_stock(stocked, warehouse, 5, by=staff_user)
    place(CustomerFactory(), warehouse, [(waiting, 2), (stocked, 2)], by=staff_user)
    level_for(waiting, east)
    rows = stock_overview(has_backorders=True)
    assert [(lv.product.sku, lv.warehouse.code) for lv in rows] == [("A-WAIT", "MAIN")]


def test_stock_overview_backordered_drops_when_a_line_is_cancelled(staff_user, product, warehouse):
    order = place(CustomerFactory(), warehouse, [(product, 4)], by=staff_user)
    assert overview_row(product, warehouse).backordered == 4
    order_cancel(order_id=order.pk, reason="Gone", by=staff_user)
    assert overview_row(product, warehouse).backordered == 0
    assert not stock_overview(has_backorders=True).exists()


def test_product_ledger_newest_first_and_per_warehouse(staff_user, product, warehouse, east):
    give_stock(product, warehouse, 5, by=staff_user, reason="First")
    give_stock(product, east, 2, by=staff_user, reason="Second")
    give_stock(product, warehouse, 1, by=staff_user, reason="Third")
    assert [m.reason for m in product_ledger(product_id=product.pk)] == ["Third", "Second", "First"]
    assert [m.reason for m in product_ledger(product_id=product.pk, warehouse_id=east.pk)] == [
        "Second"
    ]


def at_day(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def adjust_on(day: dt.date, level, delta: int, *, by, hour: int = 12):
    with mock.patch("django.utils.timezone.now", return_value=at_day(day, hour)):
        stock_adjust(level_id=level.pk, delta=delta, reason="Dated", by=by)


def test_stock_over_time_rebuilds_daily_closing_balances_from_the_ledger(
    staff_user, product, warehouse
):
    end = dt.date(2026, 6, 10)
    level = level_for(product, warehouse)
    adjust_on(dt.date(2026, 5, 1), level, 7, by=staff_user)  # before the window
    adjust_on(dt.date(2026, 6, 6), level, 5, by=staff_user, hour=9)
    adjust_on(dt.date(2026, 6, 6), level, -2, by=staff_user, hour=15)  # the day closes at 10
    adjust_on(dt.date(2026, 6, 8), level, -10, by=staff_user)
    adjust_on(dt.date(2026, 6, 11), level, 4, by=staff_user)  # after the window

    series = stock_over_time(level_id=level.pk, days=6, end=end)

    assert series == [
        (dt.date(2026, 6, 5), 7),
        (dt.date(2026, 6, 6), 10),
        (dt.date(2026, 6, 7), 10),
        (dt.date(2026, 6, 8), 0),
        (dt.date(2026, 6, 9), 0),
        (dt.date(2026, 6, 10), 0),
    ]


def test_stock_over_time_without_movements_is_flat_zero(product, warehouse):
    level = level_for(product, warehouse)
    series = stock_over_time(level_id=level.pk, days=3, end=dt.date(2026, 1, 3))
    assert series == [(dt.date(2026, 1, d), 0) for d in (1, 2, 3)]
