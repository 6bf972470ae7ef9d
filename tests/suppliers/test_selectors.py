"""suppliers.selectors: on order, inbound purchase orders and open supply."""

import datetime as dt

import pytest
from django.utils import timezone

from suppliers.models import PurchaseOrderLine
from suppliers.selectors import (
    inbound_purchase_orders,
    on_order_by_product,
    open_supply,
    shipment_product_ids,
    shipment_warehouse_id,
)
from suppliers.services import purchase_order_cancel, purchase_order_create, shipment_receive
from tests.factories import ProductFactory, SupplierFactory, WarehouseFactory
from tests.helpers import sent_po


@pytest.fixture
def supplier(db):
    return SupplierFactory(name="Northwind")


@pytest.fixture
def gadget(db):
    return ProductFactory(sku="GADGET-2")


def receive(po, product, quantity, *, by, key):
    line = PurchaseOrderLine.objects.get(purchase_order=po, product=product)
    return shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: quantity}, idempotency_key=key, by=by
    )


def test_on_order_counts_only_sent_and_partially_received_outstanding(
    staff_user, manager_user, supplier, product, gadget, warehouse
):
    purchase_order_create(  # a draft is not on order yet
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 100, "1.00")],
        by=manager_user,
    )
    sent_po(supplier, warehouse, [(product, 10), (gadget, 3)], by=manager_user)
    partial = sent_po(supplier, warehouse, [(product, 8)], by=manager_user)
    receive(partial, product, 5, by=staff_user, key="k-1")
    received = sent_po(supplier, warehouse, [(product, 7)], by=manager_user)
    receive(received, product, 7, by=staff_user, key="k-2")
    cancelled = sent_po(supplier, warehouse, [(product, 50)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Dup", by=manager_user)
    sent_po(supplier, WarehouseFactory(code="EAST"), [(product, 40)], by=manager_user)

    assert on_order_by_product(warehouse_id=warehouse.pk, product_ids=[product.pk, gadget.pk]) == {
        product.pk: 10 + 3,
        gadget.pk: 3,
    }


def test_on_order_ignores_tolerated_over_receipt(
    settings, staff_user, manager_user, supplier, product, gadget, warehouse
):
    settings.BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT = 10
    po = sent_po(supplier, warehouse, [(product, 10), (gadget, 5)], by=manager_user)
    receive(po, product, 11, by=staff_user, key="k-1")
    # The over-received line leaves nothing outstanding, not minus one.
    assert on_order_by_product(warehouse_id=warehouse.pk, product_ids=[product.pk, gadget.pk]) == {
        gadget.pk: 5
    }


def test_inbound_purchase_orders_earliest_first_with_flags(
    staff_user, manager_user, supplier, product, gadget, warehouse
):
    today = dt.date(2026, 3, 10)
    later = sent_po(
        supplier, warehouse, [(product, 5)], by=manager_user, expected_date=dt.date(2026, 3, 20)
    )
    due = sent_po(
        supplier, warehouse, [(product, 5), (gadget, 4)], by=manager_user, expected_date=today
    )
    overdue = sent_po(
        supplier, warehouse, [(product, 9)], by=manager_user, expected_date=dt.date(2026, 3, 1)
    )
    receive(overdue, product, 4, by=staff_user, key="k-1")
    done = sent_po(
        supplier, warehouse, [(product, 5)], by=manager_user, expected_date=dt.date(2026, 2, 1)
    )
    receive(done, product, 5, by=staff_user, key="k-2")
    purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=dt.date(2026, 1, 1),
        lines=[(product.pk, 5, "1.00")],
        by=manager_user,
    )

    rows = list(inbound_purchase_orders(today=today))

    assert [po.pk for po in rows] == [overdue.pk, due.pk, later.pk]
    flags = {
        po.pk: (po.is_overdue, po.is_due_today, po.line_count, po.units_outstanding) for po in rows
    }
    assert flags == {
        overdue.pk: (True, False, 1, 5),
        due.pk: (False, True, 2, 9),
        later.pk: (False, False, 1, 5),
    }


def test_inbound_purchase_orders_same_date_by_id(manager_user, supplier, product, warehouse):
    day = timezone.localdate()
    first = sent_po(supplier, warehouse, [(product, 1)], by=manager_user, expected_date=day)
    second = sent_po(supplier, warehouse, [(product, 1)], by=manager_user, expected_date=day)
    assert [po.pk for po in inbound_purchase_orders(today=day)] == [first.pk, second.pk]


def test_open_supply_lists_outstanding_by_expected_date(
    staff_user, manager_user, supplier, product, gadget, warehouse
):
    late = sent_po(
        supplier, warehouse, [(product, 6)], by=manager_user, expected_date=dt.date(2026, 5, 1)
    )
    early = sent_po(
        supplier,
        warehouse,
        [(product, 4), (gadget, 2)],
        by=manager_user,
        expected_date=dt.date(2026, 4, 1),
    )
    receive(early, product, 1, by=staff_user, key="k-1")
    supply = open_supply(product_ids=[product.pk], warehouse_ids=[warehouse.pk])
    assert supply == {
        (product.pk, warehouse.pk): [
            (dt.date(2026, 4, 1), 3, early.number),
            (dt.date(2026, 5, 1), 6, late.number),
        ]
    }


def test_shipment_lookups(staff_user, manager_user, supplier, product, gadget, warehouse):
    po = sent_po(supplier, warehouse, [(product, 5), (gadget, 5)], by=manager_user)
    lines = {line.product_id: line.pk for line in po.lines.all()}
    result = shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[gadget.pk]: 2, lines[product.pk]: 1},
        idempotency_key="k-1",
        by=staff_user,
    )
    assert shipment_product_ids(shipment_id=result.shipment.pk) == sorted([product.pk, gadget.pk])
    assert shipment_warehouse_id(shipment_id=result.shipment.pk) == warehouse.pk
    assert shipment_warehouse_id(shipment_id=999_999) is None
    assert shipment_warehouse_id(shipment_id="abc") is None
