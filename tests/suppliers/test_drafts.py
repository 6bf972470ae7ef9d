"""suppliers.services.purchase_order_drafts_add: lines another app chose become draft orders."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from suppliers.services import DraftLineInput, purchase_order_drafts_add
from tests.factories import ProductFactory, SupplierFactory, WarehouseFactory
from tests.helpers import error_codes, sent_po


def line(supplier, warehouse, product, *, quantity=10, lead_time_days=7, cost="2.50"):
    return DraftLineInput(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        product_id=product.pk,
        quantity=quantity,
        unit_cost=Decimal(cost),
        lead_time_days=lead_time_days,
        label=f"{product.sku} @ {warehouse.code}",
    )


def add(lines, *, by, note="From the test"):
    with transaction.atomic():
        return purchase_order_drafts_add(lines=lines, by=by, note=note)


def test_one_draft_per_supplier_and_warehouse_dated_by_the_slowest_line(staff_user):
    north, south = WarehouseFactory(code="NTH"), WarehouseFactory(code="STH")
    acme, bolt = SupplierFactory(), SupplierFactory()
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()

    result = add(
        [
            line(acme, north, a, lead_time_days=3),
            line(acme, north, b, quantity=4, lead_time_days=12),
            line(bolt, north, c),
            line(acme, south, c),
        ],
        by=staff_user,
    )

    assert len(result.created) == 3
    assert result.reused == result.skipped == []
    acme_north = PurchaseOrder.objects.get(supplier=acme, warehouse=north)
    assert acme_north.status == PurchaseOrderStatus.DRAFT
    assert acme_north.expected_date == timezone.localdate() + dt.timedelta(days=12)
    assert acme_north.notes == "From the test"
    assert acme_north.created_by == staff_user
    assert sorted(acme_north.lines.values_list("product_id", "quantity_ordered")) == sorted(
        [(a.pk, 10), (b.pk, 4)]
    )


def test_adding_the_same_lines_twice_adds_nothing_the_second_time(staff_user):
    warehouse, supplier, product = WarehouseFactory(), SupplierFactory(), ProductFactory()

    add([line(supplier, warehouse, product)], by=staff_user)
    again = add([line(supplier, warehouse, product)], by=staff_user)

    assert again.created == again.reused == []
    (reason,) = again.skipped
    draft = PurchaseOrder.objects.get()
    assert reason == f"{product.sku} @ {warehouse.code}: already on {draft.number} (draft)."
    assert PurchaseOrderLine.objects.count() == 1


def test_a_product_on_an_open_order_is_skipped_and_others_join_the_existing_draft(staff_user):
    warehouse, supplier = WarehouseFactory(), SupplierFactory()
    on_order, first, second = ProductFactory(), ProductFactory(), ProductFactory()
    sent = sent_po(supplier, warehouse, [(on_order, 5)], by=staff_user)
    add([line(supplier, warehouse, first, lead_time_days=2)], by=staff_user)
    draft = PurchaseOrder.objects.get(status=PurchaseOrderStatus.DRAFT)

    result = add(
        [
            line(supplier, warehouse, on_order),
            line(supplier, warehouse, second, lead_time_days=9),
        ],
        by=staff_user,
    )

    assert result.created == []
    assert result.reused == [draft]
    assert result.skipped == [
        f"{on_order.sku} @ {warehouse.code}: already on {sent.number} (sent)."
    ]
    draft.refresh_from_db()
    # The reused draft waits for its slowest line now.
    assert draft.expected_date == timezone.localdate() + dt.timedelta(days=9)
    assert set(draft.lines.values_list("product_id", flat=True)) == {first.pk, second.pk}


@pytest.mark.parametrize("quantity", [0, -3, 10**12])
def test_a_quantity_that_cannot_be_ordered_is_refused_and_nothing_is_written(staff_user, quantity):
    warehouse, supplier = WarehouseFactory(), SupplierFactory()
    good, bad = ProductFactory(), ProductFactory()

    with pytest.raises(ValidationError) as excinfo:
        add(
            [line(supplier, warehouse, good), line(supplier, warehouse, bad, quantity=quantity)],
            by=staff_user,
        )

    assert error_codes(excinfo) == {"bad_quantity"}
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_runs_only_inside_the_callers_transaction(staff_user):
    warehouse, supplier, product = WarehouseFactory(), SupplierFactory(), ProductFactory()
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        purchase_order_drafts_add(
            lines=[line(supplier, warehouse, product)], by=staff_user, note=""
        )
    assert not PurchaseOrder.objects.exists()
