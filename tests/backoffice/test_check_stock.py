"""`manage.py check_stock` and backoffice.integrity: clean on what the services write, and each
invariant, broken directly in the database, is reported by name with the row it concerns."""

import datetime as dt
from contextlib import contextmanager
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from backoffice.integrity import CHECKS, Discrepancy, stock_discrepancies
from inventory.models import StockLevel, StockMovement
from inventory.services import stock_adjust
from orders.models import (
    Allocation,
    AllocationKind,
    DailyDemand,
    OrderLine,
    SalesOrder,
    SalesOrderStatus,
)
from orders.services import (
    ReleaseDecision,
    order_cancel,
    order_place,
    order_ship,
    release_confirm,
    release_propose,
)
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from suppliers.services import purchase_order_create, purchase_order_send, shipment_receive
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierFactory,
    SupplierProductFactory,
)


@pytest.fixture
def books(warehouse, staff_user):
    """A small warehouse day through the services: stock counted in, three orders (one waiting),
    a delivery released to the queue, one order shipped and one cancelled, and a second order of
    tape partly delivered (so some is still on order)."""
    bolts = ProductFactory(sku="BOLT-M8")
    tape = ProductFactory(sku="TAPE-48")
    bolts_level = StockLevelFactory(product=bolts, warehouse=warehouse)
    tape_level = StockLevelFactory(product=tape, warehouse=warehouse)
    stock_adjust(level_id=bolts_level.pk, delta=10, reason="Opening stock", by=staff_user)
    stock_adjust(level_id=bolts_level.pk, delta=2, reason="Found in returns", by=staff_user)
    customer = CustomerFactory()

    def place(*lines):
        return order_place(
            customer_id=customer.pk, warehouse_id=warehouse.pk, lines=list(lines), by=staff_user
        )

    shipped = place((bolts.pk, 6), (tape.pk, 3))  # tape waits for the delivery
    waiting = place((bolts.pk, 8))  # 6 allocated, 2 waiting
    cancelled = place((tape.pk, 1))

    supplier = SupplierFactory()
    SupplierProductFactory(supplier=supplier, product=tape, is_preferred=True)
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=3),
        lines=[(tape.pk, 5)],
        by=staff_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=staff_user)
    po_line = po.lines.get()
    receipt = shipment_receive(
        purchase_order_id=po.pk,
        quantities={po_line.pk: 5},
        idempotency_key="delivery-1",
        by=staff_user,
    )
    plan = release_propose(
        warehouse_id=warehouse.pk,
        product_ids=receipt.product_ids,
        shipment_id=receipt.shipment.pk,
    )
    release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for product in plan.products
            for line in product.lines
            if line.quantity
        ],
        shipment_id=receipt.shipment.pk,
        by=staff_user,
    )
    order_ship(order_id=shipped.pk, by=staff_user)
    order_cancel(order_id=cancelled.pk, reason="Customer changed their mind", by=staff_user)
    restock = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=10),
        lines=[(tape.pk, 10)],
        by=staff_user,
    )
    purchase_order_send(purchase_order_id=restock.pk, by=staff_user)
    shipment_receive(
        purchase_order_id=restock.pk,
        quantities={restock.lines.get().pk: 4},
        idempotency_key="delivery-2",
        by=staff_user,
    )
    return SimpleNamespace(
        bolts_level=bolts_level,
        tape_level=tape_level,
        shipped=shipped,
        waiting=waiting,
        cancelled=cancelled,
        po=po,
        po_line=po_line,
        restock=restock,
    )


def run_check(**options) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("check_stock", stdout=out, no_color=True, **options)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def failed_checks() -> set[str]:
    return {discrepancy.check for discrepancy in stock_discrepancies()}


@contextmanager
def check_constraint_dropped(table: str, name: str):
    """Let an update break a check constraint, as a damaged or hand-edited database would.

    SQLite can ignore check constraints per connection; on PostgreSQL the constraint is dropped
    inside the test's transaction, and its rollback puts it back."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        else:
            # Deferred foreign-key checks must run first: PostgreSQL will not alter a table with
            # pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} "
                f"DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield


def test_books_kept_by_the_services_are_clean(books):
    books.bolts_level.refresh_from_db()
    books.tape_level.refresh_from_db()
    books.waiting.refresh_from_db()
    # The scenario really exercised allocation, shipping, a queue, a cancellation and an open
    # purchase order, so every check had something to compare.
    assert (books.bolts_level.allocated, books.bolts_level.backordered) == (6, 2)
    assert (books.tape_level.on_hand, books.tape_level.on_order) == (6, 6)
    assert books.waiting.status == SalesOrderStatus.BACKORDERED
    assert Allocation.objects.filter(kind=AllocationKind.SHIPMENT).exists()
    assert Allocation.objects.filter(kind=AllocationKind.RELEASE).exists()
    assert stock_discrepancies() == []

    output, error = run_check()

    assert error is None
    assert "Stock is clean" in output
    assert "2 stock levels" in output
    assert len(output.strip().splitlines()) == 1


def test_empty_database_is_clean(db):
    output, error = run_check()

    assert error is None
    assert "Stock is clean" in output


def test_on_hand_off_from_the_ledger_is_reported(books):
    StockLevel.objects.filter(pk=books.bolts_level.pk).update(on_hand=F("on_hand") + 5)

    output, error = run_check()

    assert error is not None
    assert error.returncode == 1
    assert failed_checks() == {"ledger_sum", "ledger_balance"}
    assert "ledger_sum" in output
    assert "BOLT-M8 @ MAIN: expected on hand 6 (the sum of its 3 movements), found on hand 11" in (
        output
    )


def test_latest_balance_not_matching_on_hand_is_reported(books):
    latest = StockMovement.objects.filter(level=books.bolts_level).order_by("-id").first()
    StockMovement.objects.filter(pk=latest.pk).update(balance_after=F("balance_after") + 1)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"ledger_balance"}
    assert f"BOLT-M8 @ MAIN: expected on hand 7 (balance after movement {latest.pk})" in output


def test_allocated_above_on_hand_is_reported(books):
    with check_constraint_dropped("inventory_stocklevel", "stocklevel_allocated_within_on_hand"):
        StockLevel.objects.filter(pk=books.bolts_level.pk).update(allocated=50)
        checks = failed_checks()
        output, error = run_check()

    assert error is not None
    assert {"level_bounds", "level_allocated"} <= checks
    assert "BOLT-M8 @ MAIN: expected 0 ≤ allocated ≤ on hand, found allocated 50, on hand 6" in (
        output
    )


def test_level_allocated_not_matching_its_lines_is_reported(books):
    StockLevel.objects.filter(pk=books.bolts_level.pk).update(allocated=F("allocated") - 1)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"level_allocated"}
    assert (
        "BOLT-M8 @ MAIN: expected allocated 6 (the sum over its order lines), found allocated 5"
        in output
    )


def test_allocation_history_not_matching_a_line_is_reported(books):
    line = OrderLine.objects.get(order=books.waiting)
    Allocation.objects.filter(line=line).update(quantity=F("quantity") + 1)

    output, error = run_check()

    assert error is not None
    # The placement record also says what placement left waiting, which the stored daily demand
    # no longer matches.
    assert failed_checks() == {"line_allocations", "daily_demand"}
    assert (
        f"{books.waiting.number} BOLT-M8 (line {line.pk}): expected allocated 7 "
        "(the sum of its allocation records), found allocated 6"
    ) in output


def test_shipped_not_matching_shipment_records_is_reported(books):
    line = OrderLine.objects.get(order=books.shipped, product__sku="BOLT-M8")
    Allocation.objects.filter(line=line, kind=AllocationKind.SHIPMENT).delete()

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"line_allocations"}
    assert f"{books.shipped.number} BOLT-M8 (line {line.pk}): expected shipped 0" in output
    assert "found shipped 6" in output


def test_line_promising_more_than_ordered_is_reported(books):
    line = OrderLine.objects.get(order=books.shipped, product__sku="TAPE-48")
    with check_constraint_dropped("orders_orderline", "orderline_allocated_shipped_within_ordered"):
        OrderLine.objects.filter(pk=line.pk).update(quantity_ordered=2)
        checks = failed_checks()
        output, error = run_check()

    assert error is not None
    assert "line_bounds" in checks
    assert (
        f"{books.shipped.number} TAPE-48 (line {line.pk}): expected allocated + shipped + "
        "cancelled ≤ ordered (2)"
    ) in output


def test_received_not_matching_shipment_lines_is_reported(books):
    PurchaseOrderLine.objects.filter(pk=books.po_line.pk).update(quantity_received=4)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"po_received"}
    assert (
        f"{books.po.number} TAPE-48: expected received 5 (the sum of its 1 shipment line), "
        "found received 4"
    ) in output


@pytest.mark.parametrize(
    ("order", "wrong", "right"),
    [
        ("waiting", SalesOrderStatus.READY, SalesOrderStatus.BACKORDERED),
        ("shipped", SalesOrderStatus.READY, SalesOrderStatus.SHIPPED),
        ("cancelled", SalesOrderStatus.SHIPPED, SalesOrderStatus.CANCELLED),
    ],
)
def test_order_status_disagreeing_with_its_lines_is_reported(books, order, wrong, right):
    number = getattr(books, order).number
    SalesOrder.objects.filter(pk=getattr(books, order).pk).update(status=wrong)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"order_status"}
    assert f"{number}: expected status {right}" in output
    assert f"found status {wrong}" in output


def test_level_backordered_not_matching_its_lines_is_reported(books):
    StockLevel.objects.filter(pk=books.bolts_level.pk).update(backordered=F("backordered") + 3)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"level_backordered"}
    assert (
        "✗ level_backordered: a level's backordered equals the units waiting on its order lines "
        "— 1 problem"
    ) in output
    assert (
        "BOLT-M8 @ MAIN: expected backordered 2 (the units waiting on its order lines), "
        "found backordered 5"
    ) in output
    assert f"Stock check failed: 1 discrepancy in 1 of {len(CHECKS)} checks." in str(error)


def test_level_on_order_not_matching_its_purchase_order_lines_is_reported(books):
    StockLevel.objects.filter(pk=books.tape_level.pk).update(on_order=0)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"level_on_order"}
    assert (
        "✗ level_on_order: a level's on order equals what its open purchase order lines still "
        "expect — 1 problem"
    ) in output
    assert (
        "TAPE-48 @ MAIN: expected on order 6 (the units outstanding on its open purchase order "
        "lines), found on order 0"
    ) in output


def test_purchase_order_closed_behind_the_services_back_is_reported_on_its_level(books):
    PurchaseOrder.objects.filter(pk=books.restock.pk).update(status=PurchaseOrderStatus.CANCELLED)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"level_on_order"}
    assert "TAPE-48 @ MAIN: expected on order 0" in output
    assert "found on order 6" in output


def test_order_line_changed_behind_the_services_back_is_reported_on_its_level(books):
    line = OrderLine.objects.get(order=books.waiting)
    OrderLine.objects.filter(pk=line.pk).update(quantity_ordered=F("quantity_ordered") + 4)

    checks = failed_checks()
    output, error = run_check()

    assert error is not None
    # The order's demand changed too; the level's stored queue did not follow.
    assert checks == {"level_backordered", "daily_demand"}
    assert (
        "BOLT-M8 @ MAIN: expected backordered 6 (the units waiting on its order lines), "
        "found backordered 2"
    ) in output


def test_daily_demand_not_matching_the_lines_is_reported(books):
    day = DailyDemand.objects.get(product__sku="BOLT-M8")
    DailyDemand.objects.filter(pk=day.pk).update(units_ordered=F("units_ordered") + 5)

    output, error = run_check()

    assert error is not None
    assert failed_checks() == {"daily_demand"}
    assert (
        f"BOLT-M8 @ MAIN on {day.day}: expected lines 2, lines filled 1, units ordered 14, "
        "units cancelled 0, units backordered 2 (from the order lines), found lines 2, "
        "lines filled 1, units ordered 19, units cancelled 0, units backordered 2"
    ) in output


def test_daily_demand_missing_or_unexplained_rows_are_reported(books, warehouse):
    tape = DailyDemand.objects.get(product__sku="TAPE-48")
    tape.delete()
    stray = DailyDemand.objects.create(
        product=books.bolts_level.product,
        warehouse=warehouse,
        day=tape.day - dt.timedelta(days=3),
        lines=1,
        units_ordered=4,
    )

    found = [d for d in stock_discrepancies() if d.check == "daily_demand"]

    assert [(d.subject, d.found) for d in found] == [
        (
            f"BOLT-M8 @ MAIN on {stray.day}",
            "lines 1, lines filled 0, units ordered 4, units cancelled 0, units backordered 0",
        ),
        (f"TAPE-48 @ MAIN on {tape.day}", "no row"),
    ]
    assert found[0].expected.startswith("lines 0, lines filled 0, units ordered 0")
    assert found[1].expected == (
        "lines 2, lines filled 0, units ordered 4, units cancelled 1, units backordered 4 "
        "(from the order lines)"
    )


def test_report_shows_at_most_the_limit_per_check(books):
    StockLevel.objects.filter(pk=books.bolts_level.pk).update(on_hand=F("on_hand") + 1)
    StockMovement.objects.create(
        level=books.tape_level, kind="adjustment", quantity=1, balance_after=1
    )

    output, error = run_check(limit=1)

    assert error is not None
    assert "ledger_sum: on hand equals the sum of the level's movements — 2 problems" in output
    assert "… and 1 more" in output
    assert f"Stock check failed: 4 discrepancies in 2 of {len(CHECKS)} checks." in str(error)


def test_each_check_is_one_query_whatever_the_number_of_rows(books, django_assert_num_queries):
    # One query per check: the rows of every table are looked at together, never one by one.
    with django_assert_num_queries(len(CHECKS)):
        assert stock_discrepancies() == []

    StockLevel.objects.filter(pk__in=[books.bolts_level.pk, books.tape_level.pk]).update(
        on_hand=F("on_hand") + 3
    )
    with django_assert_num_queries(len(CHECKS)):
        found = stock_discrepancies()
    assert [d.subject for d in found if d.check == "ledger_sum"] == [
        "BOLT-M8 @ MAIN",
        "TAPE-48 @ MAIN",
    ]


def test_discrepancy_reads_as_a_sentence():
    discrepancy = Discrepancy(
        check="ledger_sum", subject="BOLT-M8 @ MAIN", expected="on hand 6", found="on hand 11"
    )

    assert str(discrepancy) == "BOLT-M8 @ MAIN: expected on hand 6, found on hand 11"
