"""Totals past 2³¹ (issue 11, item 4).

One input is at most BACKSTOCK_MAX_QUANTITY (10⁹), but the stored numbers that add inputs up — a
level's on hand, allocated and on order, a ledger balance, a day's demand, a line's quantities —
grow past what a 32-bit column holds after three of them. PostgreSQL only: SQLite's integers are
64-bit whatever the column says, so there these would pass on 32-bit columns too.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.models import StockLevel, StockMovement
from inventory.services import stock_count
from orders.models import Allocation, DailyDemand, OrderLine
from orders.services import ReleaseDecision, release_confirm, release_propose
from orders.services.demand import demand_day
from suppliers.models import PurchaseOrderLine, ShipmentLine
from suppliers.services import shipment_receive
from tests.factories import CustomerFactory, SupplierProductFactory
from tests.helpers import csv_rows, give_stock, level_for, place, sent_po

pytestmark = pytest.mark.postgres

INPUT = 1_000_000_000  # the largest single quantity the services accept
TOTAL = 3 * INPUT
INT32_MAX = 2**31 - 1


def check_stock_clean() -> None:
    # Raises CommandError on any difference between a stored counter and its source rows.
    call_command("check_stock", stdout=StringIO())


def three_orders(warehouse, product, *, by):
    """Three customers' orders of INPUT units each, placed today."""
    return [place(CustomerFactory(), warehouse, [(product, INPUT)], by=by) for _ in range(3)]


def test_three_adjustments_take_on_hand_and_the_ledger_past_32_bits(staff_user, product, warehouse):
    for _ in range(3):
        level = give_stock(product, warehouse, INPUT, by=staff_user)

    assert level.on_hand == TOTAL > INT32_MAX
    balances = list(
        StockMovement.objects.filter(level=level)
        .order_by("pk")
        .values_list("balance_after", flat=True)
    )
    assert balances == [INPUT, 2 * INPUT, TOTAL]
    check_stock_clean()


def test_a_count_takes_more_than_32_bits_off_and_the_history_shows_it(
    client, staff_user, manager_user, product, warehouse
):
    for _ in range(3):
        level = give_stock(product, warehouse, INPUT, by=staff_user)
    stock_count(level_id=level.pk, counted=0, reason="Written off", by=staff_user)

    assert StockMovement.objects.filter(level=level).latest("pk").quantity == -TOTAL
    client.force_login(manager_user)
    page = client.get(reverse("inventory:product-history", args=[product.pk]))
    assert page.status_code == 200
    assert str(TOTAL) in page.content.decode().replace(",", "")
    check_stock_clean()


def test_three_orders_on_one_day_take_demand_and_backorders_past_32_bits(
    staff_user, product, warehouse
):
    orders = three_orders(warehouse, product, by=staff_user)

    day = DailyDemand.objects.get(
        product=product, warehouse=warehouse, day=demand_day(orders[0].placed_at)
    )
    assert (day.lines, day.units_ordered, day.units_backordered) == (3, TOTAL, TOTAL)
    assert level_for(product, warehouse).backordered == TOTAL
    waiting = OrderLine.objects.filter(product=product).values_list(
        "quantity_backordered", flat=True
    )
    assert sum(waiting) == TOTAL
    check_stock_clean()


def test_receipts_take_on_order_and_on_hand_past_32_bits(
    staff_user, manager_user, supplier, product, warehouse
):
    pos = [sent_po(supplier, warehouse, [(product, INPUT)], by=manager_user) for _ in range(3)]
    assert level_for(product, warehouse).on_order == TOTAL

    for n, po in enumerate(pos):
        line = PurchaseOrderLine.objects.get(purchase_order=po)
        shipment_receive(
            purchase_order_id=po.pk,
            quantities={line.pk: INPUT},
            idempotency_key=f"bigint-receipt-{n}",
            by=staff_user,
        )

    level = level_for(product, warehouse)
    assert (level.on_hand, level.on_order) == (TOTAL, 0)
    assert sum(ShipmentLine.objects.values_list("quantity", flat=True)) == TOTAL
    assert StockMovement.objects.filter(level=level).latest("pk").balance_after == TOTAL
    check_stock_clean()


def test_a_release_allocates_past_32_bits(staff_user, product, warehouse):
    three_orders(warehouse, product, by=staff_user)
    for _ in range(3):
        give_stock(product, warehouse, INPUT, by=staff_user)

    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity, moved_up_reason="")
        for entry in plan.products
        for line in entry.lines
    ]
    assert sum(d.quantity for d in decisions) == TOTAL
    release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=decisions,
        by=staff_user,
        shipment_id=None,
    )

    level = level_for(product, warehouse)
    assert (level.on_hand, level.allocated, level.backordered) == (TOTAL, TOTAL, 0)
    assert sum(Allocation.objects.values_list("quantity", flat=True)) == TOTAL
    check_stock_clean()


def test_stock_and_reorder_pages_show_totals_past_32_bits(
    client, staff_user, manager_user, supplier, product, warehouse
):
    SupplierProductFactory(supplier=supplier, product=product, is_preferred=True)
    for _ in range(3):
        give_stock(product, warehouse, INPUT, by=staff_user)
    three_orders(warehouse, product, by=staff_user)
    three_orders(warehouse, product, by=staff_user)
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert (level.on_hand, level.allocated, level.backordered) == (TOTAL, TOTAL, TOTAL)
    client.force_login(manager_user)

    page = client.get(reverse("inventory:stock-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<td class="num">{TOTAL}</td>' in html
    # Projected: on hand − allocated − backordered.
    assert f">-{TOTAL}<" in html

    export = client.get(reverse("inventory:stock-list"), {"_export": "csv"})
    assert export.status_code == 200
    _header, row = csv_rows(export)
    assert str(TOTAL) in row

    dashboard = client.get(reverse("planning:reorder-dashboard"))
    assert dashboard.status_code == 200
    assert f'data-level="{level.pk}"' in dashboard.content.decode()

    export = client.get(reverse("planning:reorder-dashboard"), {"_export": "csv"})
    assert export.status_code == 200
    assert len(csv_rows(export)) == 2
