"""suppliers.selectors: on order, inbound purchase orders, open supply, suppliers and their terms,
and one purchase order's lines and shipments."""

import datetime as dt

from django.utils import timezone

from suppliers.models import PurchaseOrderLine
from suppliers.selectors import (
    inbound_purchase_orders,
    on_order_by_product,
    open_supply,
    product_supply_terms,
    purchase_order_lines,
    purchase_order_shipments,
    shipment_product_ids,
    shipment_warehouse_id,
    supplier_longest_lead_time,
    supplier_terms,
    suppliers_listed,
)
from suppliers.services import purchase_order_cancel, purchase_order_create, shipment_receive
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import sent_po


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


# --- suppliers and their terms ------------------------------------------------------------------


def test_suppliers_listed_counts_terms_and_open_orders_without_multiplying_them(
    staff_user, manager_user, supplier, product, gadget, warehouse
):
    acme = SupplierFactory(name="Acme")
    SupplierFactory(name="Beta")  # neither terms nor orders
    for item in (product, gadget, ProductFactory()):
        SupplierProductFactory(supplier=acme, product=item)
    SupplierProductFactory(supplier=supplier, product=product)
    sent_po(acme, warehouse, [(product, 5)], by=manager_user)
    partial = sent_po(acme, warehouse, [(product, 4), (gadget, 2)], by=manager_user)
    receive(partial, product, 4, by=staff_user, key="k-1")
    purchase_order_create(  # a draft is not open yet
        supplier_id=acme.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 1, "1.00")],
        by=manager_user,
    )
    cancelled = sent_po(acme, warehouse, [(gadget, 3)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Dup", by=manager_user)
    done = sent_po(supplier, warehouse, [(product, 2)], by=manager_user)
    receive(done, product, 2, by=staff_user, key="k-2")

    rows = [(s.name, s.term_count, s.open_po_count) for s in suppliers_listed()]

    assert rows == [("Acme", 3, 2), ("Beta", 0, 0), ("Northwind", 1, 0)]


def test_supplier_terms_are_the_suppliers_own_by_sku_with_their_products(
    supplier, django_assert_num_queries
):
    bolt, axle = ProductFactory(sku="BOLT-9"), ProductFactory(sku="AXLE-3")
    SupplierProductFactory(supplier=supplier, product=bolt, lead_time_days=4)
    SupplierProductFactory(supplier=supplier, product=axle, lead_time_days=9)
    SupplierProductFactory(product=ProductFactory(sku="AAA-1"))  # another supplier's

    with django_assert_num_queries(1):
        rows = [(t.product.sku, t.lead_time_days) for t in supplier_terms(supplier_id=supplier.pk)]

    assert rows == [("AXLE-3", 9), ("BOLT-9", 4)]


def test_product_supply_terms_put_the_preferred_supplier_first_then_by_name(
    supplier, product, gadget, django_assert_num_queries
):
    SupplierProductFactory(supplier=SupplierFactory(name="Zeta"), product=product)
    SupplierProductFactory(supplier=supplier, product=product, is_preferred=True)
    SupplierProductFactory(supplier=SupplierFactory(name="Acme"), product=product)
    SupplierProductFactory(supplier=SupplierFactory(name="Aardvark"), product=gadget)

    with django_assert_num_queries(1):
        names = [t.supplier.name for t in product_supply_terms(product_id=product.pk)]

    assert names == ["Northwind", "Acme", "Zeta"]


def test_supplier_longest_lead_time_is_the_longest_over_the_products_asked_for(
    supplier, product, gadget
):
    slow = ProductFactory()
    SupplierProductFactory(supplier=supplier, product=product, lead_time_days=5)
    SupplierProductFactory(supplier=supplier, product=gadget, lead_time_days=12)
    SupplierProductFactory(supplier=supplier, product=slow, lead_time_days=40)
    SupplierProductFactory(product=product, lead_time_days=90)  # another supplier's

    assert (
        supplier_longest_lead_time(supplier_id=supplier.pk, product_ids=[product.pk, gadget.pk])
        == 12
    )
    assert supplier_longest_lead_time(supplier_id=supplier.pk, product_ids=[product.pk]) == 5
    assert (
        supplier_longest_lead_time(supplier_id=supplier.pk, product_ids=[ProductFactory().pk])
        is None
    )
    assert supplier_longest_lead_time(supplier_id=supplier.pk, product_ids=[]) is None


# --- one purchase order -----------------------------------------------------------------------


def test_purchase_order_lines_are_its_own_in_entry_order_with_products(
    manager_user, supplier, product, gadget, warehouse, django_assert_num_queries
):
    po = sent_po(supplier, warehouse, [(gadget, 3), (product, 7)], by=manager_user)
    sent_po(supplier, warehouse, [(product, 1)], by=manager_user)

    with django_assert_num_queries(1):
        rows = [
            (line.product.sku, line.quantity_ordered)
            for line in purchase_order_lines(purchase_order_id=po.pk)
        ]

    assert rows == [("GADGET-2", 3), ("WIDGET-1", 7)]


def test_purchase_order_shipments_newest_first_with_what_arrived_in_two_queries(
    staff_user, manager_user, supplier, product, gadget, warehouse, django_assert_num_queries
):
    po = sent_po(supplier, warehouse, [(product, 5), (gadget, 5)], by=manager_user)
    lines = {line.product_id: line.pk for line in po.lines.all()}
    first = shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[product.pk]: 2},
        idempotency_key="k-1",
        by=staff_user,
    ).shipment
    second = shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[product.pk]: 1, lines[gadget.pk]: 4},
        idempotency_key="k-2",
        by=manager_user,
    ).shipment
    other = sent_po(supplier, warehouse, [(product, 1)], by=manager_user)
    receive(other, product, 1, by=staff_user, key="k-3")

    with django_assert_num_queries(2):
        rows = [
            (
                shipment.pk,
                shipment.received_by.username,
                [
                    (item.purchase_order_line.product.sku, item.quantity)
                    for item in shipment.lines.all()
                ],
            )
            for shipment in purchase_order_shipments(purchase_order_id=po.pk)
        ]

    assert rows == [
        (second.pk, "manager-user", [("WIDGET-1", 1), ("GADGET-2", 4)]),
        (first.pk, "staff-user", [("WIDGET-1", 2)]),
    ]
