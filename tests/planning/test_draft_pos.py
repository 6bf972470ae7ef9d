"""Draft purchase orders from reorder suggestions: grouping, rounding, idempotence, bad input."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from backoffice.integrity import stock_discrepancies
from planning.selectors import reorder_suggestions
from planning.services import purchase_orders_draft_from_suggestions
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from suppliers.services import purchase_order_cancel, purchase_order_send
from tests.concurrency_helpers import run_in_threads
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import error_codes, give_stock, level_for, place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reorder_settings(settings):
    settings.BACKSTOCK_DEMAND_WINDOW_DAYS = 10
    settings.BACKSTOCK_REVIEW_PERIOD_DAYS = 14
    settings.BACKSTOCK_SERVICE_LEVEL = 0.95


def waiting(product, warehouse, quantity: int, *, days_ago: int = 1):
    """A customer line waiting for `quantity`, placed through the order services with nothing on
    the shelf: demand in the window and a backorder on the level."""
    placed = timezone.now() - dt.timedelta(days=days_ago)
    place(CustomerFactory(), warehouse, [(product, quantity)], by=UserFactory(), placed_at=placed)
    return level_for(product, warehouse)


def term(product, supplier, **kwargs):
    kwargs.setdefault("is_preferred", True)
    return SupplierProductFactory(product=product, supplier=supplier, **kwargs)


def draft(levels, by):
    return purchase_orders_draft_from_suggestions(level_ids=[lv.pk for lv in levels], by=by)


def suggested(level) -> int:
    (row,) = [r for r in reorder_suggestions(include_all=True) if r.level_id == level.pk]
    return row.suggested_qty


def test_one_draft_per_supplier_and_warehouse(manager_user, warehouse):
    east = WarehouseFactory(code="EAST")
    acme, bolt = SupplierFactory(name="Acme"), SupplierFactory(name="Bolt")
    a1, a2, b1 = ProductFactory(sku="A1"), ProductFactory(sku="A2"), ProductFactory(sku="B1")
    term(a1, acme, lead_time_days=5, unit_cost=Decimal("1.25"))
    term(a2, acme, lead_time_days=12, unit_cost=Decimal("3.00"))
    term(b1, bolt, lead_time_days=7, unit_cost=Decimal("9.99"))
    levels = [
        waiting(a1, warehouse, 10),
        waiting(a2, warehouse, 4),
        waiting(a1, east, 6),
        waiting(b1, warehouse, 2),
    ]
    expected_qty = {lv.pk: suggested(lv) for lv in levels}

    result = draft(levels, manager_user)

    assert result.reused == []
    assert result.skipped == []
    pos = {(po.supplier.name, po.warehouse.code): po for po in result.created}
    assert set(pos) == {("Acme", "MAIN"), ("Acme", "EAST"), ("Bolt", "MAIN")}
    today = timezone.localdate()
    for po in result.created:
        po.refresh_from_db()
        assert po.status == PurchaseOrderStatus.DRAFT
        assert po.created_by == manager_user
    assert pos[("Acme", "MAIN")].expected_date == today + dt.timedelta(days=12)  # slowest line
    assert pos[("Acme", "EAST")].expected_date == today + dt.timedelta(days=5)
    lines = {
        (line.purchase_order_id, line.product.sku): (line.quantity_ordered, line.unit_cost)
        for line in PurchaseOrderLine.objects.select_related("product")
    }
    assert lines == {
        (pos[("Acme", "MAIN")].pk, "A1"): (expected_qty[levels[0].pk], Decimal("1.25")),
        (pos[("Acme", "MAIN")].pk, "A2"): (expected_qty[levels[1].pk], Decimal("3.00")),
        (pos[("Acme", "EAST")].pk, "A1"): (expected_qty[levels[2].pk], Decimal("1.25")),
        (pos[("Bolt", "MAIN")].pk, "B1"): (expected_qty[levels[3].pk], Decimal("9.99")),
    }
    # Drafts are not on order yet: the levels' stored counters still agree with the lines.
    assert stock_discrepancies() == []


def test_quantities_are_rounded_to_packs_and_minimums(manager_user, warehouse):
    supplier = SupplierFactory()
    packed, minimum = ProductFactory(), ProductFactory()
    term(packed, supplier, pack_size=12, min_order_qty=1)
    term(minimum, supplier, pack_size=5, min_order_qty=42)
    levels = [waiting(packed, warehouse, 13), waiting(minimum, warehouse, 1)]

    draft(levels, manager_user)

    quantities = dict(PurchaseOrderLine.objects.values_list("product_id", "quantity_ordered"))
    assert quantities[packed.pk] % 12 == 0
    assert quantities[packed.pk] >= 13
    assert quantities[minimum.pk] == 45  # 42 rounded up to packs of 5


def test_running_twice_creates_nothing_the_second_time(manager_user, warehouse):
    supplier = SupplierFactory()
    product = ProductFactory(sku="TWICE")
    term(product, supplier)
    level = waiting(product, warehouse, 8)

    first = draft([level], manager_user)
    second = draft([level], manager_user)

    assert len(first.created) == 1
    assert second.created == second.reused == []
    assert second.skipped == [f"TWICE @ MAIN: already on {first.created[0].number} (draft)."]
    assert PurchaseOrder.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 1


@pytest.mark.parametrize("status", ["sent", "partially_received"])
def test_product_on_an_open_order_of_that_supplier_is_skipped(manager_user, warehouse, status):
    supplier = SupplierFactory()
    product = ProductFactory(sku="OPEN")
    term(product, supplier)
    level = waiting(product, warehouse, 50)
    po = PurchaseOrderFactory(supplier=supplier, warehouse=warehouse, status=status)
    PurchaseOrderLineFactory(purchase_order=po, product=product, quantity_ordered=1)

    result = draft([level], manager_user)

    assert result.created == []
    assert result.skipped == [
        f"OPEN @ MAIN: already on {po.number} ({po.get_status_display().lower()})."
    ]


def test_closed_orders_and_other_warehouses_do_not_block(manager_user, warehouse):
    supplier = SupplierFactory()
    product = ProductFactory()
    term(product, supplier)
    level = waiting(product, warehouse, 50)
    cancelled = PurchaseOrderFactory(supplier=supplier, warehouse=warehouse)
    PurchaseOrderLineFactory(purchase_order=cancelled, product=product)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Wrong", by=manager_user)
    elsewhere = PurchaseOrderFactory(supplier=supplier, warehouse=WarehouseFactory(code="EAST"))
    PurchaseOrderLineFactory(purchase_order=elsewhere, product=product)

    result = draft([level], manager_user)

    assert len(result.created) == 1
    assert result.skipped == []


def test_another_suppliers_open_order_does_not_block(manager_user, warehouse):
    ours, theirs = SupplierFactory(), SupplierFactory()
    product = ProductFactory()
    term(product, ours)
    SupplierProductFactory(product=product, supplier=theirs)
    level = waiting(product, warehouse, 50)
    po = PurchaseOrderFactory(supplier=theirs, warehouse=warehouse)
    PurchaseOrderLineFactory(purchase_order=po, product=product)

    result = draft([level], manager_user)

    assert [po.supplier_id for po in result.created] == [ours.pk]


def test_new_lines_join_the_existing_draft_of_that_supplier_and_warehouse(manager_user, warehouse):
    supplier = SupplierFactory()
    first, second = ProductFactory(), ProductFactory()
    term(first, supplier, lead_time_days=3)
    term(second, supplier, lead_time_days=20)
    earlier = draft([waiting(first, warehouse, 5)], manager_user).created[0]

    result = draft([waiting(second, warehouse, 5)], manager_user)

    assert result.created == []
    assert result.reused == [earlier]
    earlier.refresh_from_db()
    assert set(earlier.lines.values_list("product_id", flat=True)) == {first.pk, second.pk}
    assert earlier.expected_date == timezone.localdate() + dt.timedelta(days=20)


def test_a_sent_draft_is_not_reused(manager_user, warehouse):
    supplier = SupplierFactory()
    first, second = ProductFactory(), ProductFactory()
    term(first, supplier)
    term(second, supplier)
    earlier = draft([waiting(first, warehouse, 5)], manager_user).created[0]
    purchase_order_send(purchase_order_id=earlier.pk, by=manager_user)

    result = draft([waiting(second, warehouse, 5)], manager_user)

    assert len(result.created) == 1
    assert result.created[0].pk != earlier.pk


def test_rows_without_supplier_or_quantity_are_skipped_with_a_reason(
    manager_user, staff_user, warehouse
):
    orphan = ProductFactory(sku="ORPHAN")
    plenty = ProductFactory(sku="PLENTY")
    term(plenty, SupplierFactory())
    orphan_level = waiting(orphan, warehouse, 3)
    plenty_level = waiting(plenty, warehouse, 2)
    give_stock(plenty, warehouse, 500, by=staff_user)

    result = draft([orphan_level, plenty_level], manager_user)

    assert result.created == []
    assert result.skipped[0] == "ORPHAN @ MAIN: no supplier to order from."
    assert result.skipped[1].startswith("PLENTY @ MAIN: nothing to order (projected 498 is above")
    assert PurchaseOrder.objects.count() == 0


def test_inactive_product_is_skipped(manager_user, warehouse):
    product = ProductFactory()
    term(product, SupplierFactory())
    level = waiting(product, warehouse, 3)
    product.is_active = False
    product.save()

    result = draft([level], manager_user)

    assert result.created == []
    assert result.skipped == [
        f"Stock level {level.pk}: unknown, or its product or warehouse is inactive."
    ]


def test_quantities_are_recomputed_not_taken_from_the_page(manager_user, staff_user, warehouse):
    product = ProductFactory()
    term(product, SupplierFactory())
    level = waiting(product, warehouse, 30)
    shown = suggested(level)
    give_stock(product, warehouse, 20, by=staff_user)  # between showing the page and posting

    draft([level], manager_user)

    line = PurchaseOrderLine.objects.get()
    assert line.quantity_ordered == suggested(level) < shown


@pytest.mark.parametrize("level_ids", ["12", None, [], ["x"], [True], [0], [2**70]])
def test_bad_level_ids_are_refused(manager_user, level_ids):
    with pytest.raises(ValidationError) as excinfo:
        purchase_orders_draft_from_suggestions(level_ids=level_ids, by=manager_user)

    assert error_codes(excinfo) <= {"unknown_level", "no_levels"}


def test_one_transaction_all_or_nothing(manager_user, warehouse):
    product = ProductFactory()
    term(product, SupplierFactory())
    level = waiting(product, warehouse, 3)

    with (
        mock.patch.object(
            PurchaseOrderLine.objects, "bulk_create", side_effect=RuntimeError("disk full")
        ),
        pytest.raises(RuntimeError),
    ):
        draft([level], manager_user)

    assert PurchaseOrder.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_drafting_at_once_order_once(manager_user):
    warehouse = WarehouseFactory(code="RACE")
    supplier = SupplierFactory()
    levels = []
    for _ in range(5):
        product = ProductFactory()
        term(product, supplier)
        levels.append(waiting(product, warehouse, 7))

    outcomes = run_in_threads([lambda: draft(levels, manager_user) for _ in range(3)])

    assert all(o.ok for o in outcomes), [o.error_trace for o in outcomes]
    assert PurchaseOrder.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 5
    assert sum(len(o.value.created) for o in outcomes) == 1
    assert sum(len(o.value.skipped) for o in outcomes) == 10
