"""Daily demand (orders.DailyDemand) is kept by the order services in their own transaction and
always equals its recomputation from the order lines; the migration's backfill writes the same."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as live_apps
from django.utils import timezone

from orders.imports import OrderCheck, RowCheck
from orders.models import DailyDemand, OrderLine
from orders.services import order_cancel, order_line_cancel, order_ship
from orders.services.demand import (
    COUNTERS,
    daily_demand_rebuild,
    daily_demand_recomputed,
    demand_day,
)
from orders.services.imports import orders_import
from tests.factories import CustomerFactory, OrderLineFactory, ProductFactory, SalesOrderFactory
from tests.helpers import give_stock, invariants_check, place


def stored() -> dict[tuple, tuple]:
    return {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in DailyDemand.objects.values_list("product_id", "warehouse_id", "day", *COUNTERS)
    }


def recomputed() -> dict[tuple, tuple]:
    rows = {}
    for row in daily_demand_recomputed().values_list(
        "product_id", "warehouse_id", "day", *COUNTERS
    ):
        day = row[2] if isinstance(row[2], dt.date) else dt.date.fromisoformat(row[2])
        rows[(row[0], row[1], day)] = tuple(row[3:])
    return rows


def assert_kept():
    assert stored() == recomputed()


def days_ago(days: int, hour: int = 10) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


@pytest.fixture
def goods(warehouse, staff_user):
    """Two products: 5 bolts on the shelf, no tape."""
    bolts, tape = ProductFactory(sku="BOLT"), ProductFactory(sku="TAPE")
    give_stock(bolts, warehouse, 5, by=staff_user)
    return bolts, tape


def test_placing_counts_lines_units_and_what_had_to_wait(goods, warehouse, staff_user):
    bolts, tape = goods
    customer = CustomerFactory()

    place(customer, warehouse, [(bolts, 3), (tape, 4)], by=staff_user, placed_at=days_ago(2))
    # Same day, same bolts: only 2 left, so 4 of 6 wait and the line is not filled.
    place(customer, warehouse, [(bolts, 6)], by=staff_user, placed_at=days_ago(2, 15))
    place(customer, warehouse, [(tape, 1)], by=staff_user, placed_at=days_ago(1))

    day2, day1 = (demand_day(days_ago(2)), demand_day(days_ago(1)))
    # lines, lines filled, units ordered, units cancelled, units backordered
    assert stored() == {
        (bolts.pk, warehouse.pk, day2): (2, 1, 9, 0, 4),
        (tape.pk, warehouse.pk, day2): (1, 0, 4, 0, 4),
        (tape.pk, warehouse.pk, day1): (1, 0, 1, 0, 1),
    }
    assert_kept()


def test_cancelling_a_line_counts_its_open_units_on_the_order_day(goods, warehouse, staff_user):
    bolts, tape = goods
    order = place(
        CustomerFactory(), warehouse, [(bolts, 3), (tape, 4)], by=staff_user, placed_at=days_ago(5)
    )
    order_line_cancel(
        line_id=order.lines.get(product=tape).pk, reason="No longer needed", by=staff_user
    )

    assert stored()[(tape.pk, warehouse.pk, demand_day(days_ago(5)))] == (1, 0, 4, 4, 4)
    assert stored()[(bolts.pk, warehouse.pk, demand_day(days_ago(5)))] == (1, 1, 3, 0, 0)
    assert_kept()


def test_cancelling_an_order_counts_allocated_and_waiting_units(goods, warehouse, staff_user):
    bolts, tape = goods
    order = place(CustomerFactory(), warehouse, [(bolts, 8), (tape, 2)], by=staff_user)
    # A partly shipped line: only its open rest is cancelled.
    order_ship(order_id=order.pk, by=staff_user, quantities={order.lines.get(product=bolts).pk: 2})

    order_cancel(order_id=order.pk, reason="Customer withdrew", by=staff_user)

    day = demand_day(order.placed_at)
    assert stored()[(bolts.pk, warehouse.pk, day)] == (1, 0, 8, 6, 3)
    assert stored()[(tape.pk, warehouse.pk, day)] == (1, 0, 2, 2, 2)
    assert_kept()
    invariants_check()


def test_shipping_changes_no_demand(goods, warehouse, staff_user):
    bolts, _tape = goods
    order = place(CustomerFactory(), warehouse, [(bolts, 4)], by=staff_user)
    before = stored()

    order_ship(order_id=order.pk, by=staff_user)

    assert stored() == before
    assert_kept()


def test_imported_orders_are_counted(goods, warehouse, staff_user):
    bolts, tape = goods
    customer = CustomerFactory()
    checks = [
        OrderCheck(
            order_ref=ref,
            customer=customer.name,
            warehouse=warehouse.code,
            customer_id=customer.pk,
            warehouse_id=warehouse.pk,
            rows=[
                RowCheck(number=n, values={}, product_id=product.pk, quantity=quantity)
                for n, (product, quantity) in enumerate(lines, start=1)
            ],
        )
        for ref, lines in (("A-1", [(bolts, 2), (tape, 1)]), ("A-2", [(bolts, 7)]))
    ]

    outcomes = orders_import(orders=checks, by=staff_user)

    assert all(outcome.order for outcome in outcomes)
    day = demand_day(outcomes[0].order.placed_at)
    assert stored()[(bolts.pk, warehouse.pk, day)] == (2, 1, 9, 0, 4)
    assert stored()[(tape.pk, warehouse.pk, day)] == (1, 0, 1, 0, 1)
    assert_kept()


def test_a_failed_placement_leaves_no_demand(goods, warehouse, staff_user):
    bolts, _tape = goods
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        place(CustomerFactory(), warehouse, [(bolts, 0)], by=staff_user)
    assert stored() == {}


def test_backfill_writes_the_recomputation_for_data_loaded_without_it(warehouse, staff_user):
    """The migration's function on lines that never went through the services (as an older
    database, or a bulk load, has them)."""
    product = ProductFactory()
    for days, ordered, cancelled in ((3, 5, 0), (3, 2, 2), (40, 7, 1)):
        order = SalesOrderFactory(warehouse=warehouse, placed_at=days_ago(days))
        OrderLineFactory(
            order=order,
            product=product,
            quantity_ordered=ordered,
            quantity_cancelled=cancelled,
            quantity_shipped=ordered - cancelled,
        )
    # And one placed through the service, whose row the backfill must reproduce, not double.
    give_stock(product, warehouse, 1, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user, placed_at=days_ago(3))
    DailyDemand.objects.all().delete()
    migration = importlib.import_module("orders.migrations.0006_dailydemand_backfill")

    migration.backfill(live_apps, None)

    assert stored() == {
        (product.pk, warehouse.pk, demand_day(days_ago(3))): (3, 1, 8, 2, 7),
        (product.pk, warehouse.pk, demand_day(days_ago(40))): (1, 0, 7, 1, 7),
    }
    assert_kept()
    # Running it again replaces rather than adds.
    assert daily_demand_rebuild() == 2
    assert_kept()


def test_the_day_is_the_local_date_of_the_placed_time(settings, goods, warehouse, staff_user):
    settings.TIME_ZONE = "Europe/Berlin"
    _bolts, tape = goods
    # 23:30 UTC is already the next day in Berlin.
    late = dt.datetime.combine(
        timezone.now().date() - dt.timedelta(days=1), dt.time(23, 30), tzinfo=dt.UTC
    )
    place(CustomerFactory(), warehouse, [(tape, 1)], by=staff_user, placed_at=late)

    assert list(stored()) == [(tape.pk, warehouse.pk, late.date() + dt.timedelta(days=1))]
    assert_kept()
    assert OrderLine.objects.count() == 1
