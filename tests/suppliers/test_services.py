"""suppliers.services: purchase orders and receiving shipments (rules 1, 5 and 8)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.models import MovementKind, StockLevel, StockMovement
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
)
from suppliers.services import (
    PurchaseLineInput,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)
from tests.factories import SupplierProductFactory
from tests.helpers import error_codes, error_text, invariants_check, sent_po, table_counts


def next_week():
    return timezone.localdate() + dt.timedelta(days=7)


def po_lines(po):
    return {line.product_id: line for line in PurchaseOrderLine.objects.filter(purchase_order=po)}


# --- purchase_order_create ---------------------------------------------------------------------


def test_purchase_order_create_defaults_unit_cost_from_terms(
    manager_user, supplier, product, gadget, warehouse
):
    SupplierProductFactory(supplier=supplier, product=product, unit_cost=Decimal("3.75"))
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=next_week(),
        lines=[PurchaseLineInput(product_id=product.pk, quantity="20"), (gadget.pk, 5, "9.99")],
        by=manager_user,
        notes="Rush",
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.DRAFT
    assert (po.supplier, po.warehouse, po.expected_date, po.notes) == (
        supplier,
        warehouse,
        next_week(),
        "Rush",
    )
    assert po.created_by == manager_user
    lines = po_lines(po)
    assert (lines[product.pk].quantity_ordered, lines[product.pk].unit_cost) == (
        20,
        Decimal("3.75"),
    )
    assert (lines[gadget.pk].quantity_ordered, lines[gadget.pk].unit_cost) == (5, Decimal("9.99"))


def test_purchase_order_create_explicit_cost_overrides_terms(
    manager_user, supplier, product, warehouse
):
    SupplierProductFactory(supplier=supplier, product=product, unit_cost=Decimal("3.75"))
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=next_week(),
        lines=[(product.pk, 1, "0")],
        by=manager_user,
    )
    assert po_lines(po)[product.pk].unit_cost == Decimal("0.00")


def test_purchase_order_create_requires_a_cost_without_terms(
    manager_user, supplier, product, gadget, warehouse
):
    # Terms with another supplier do not count.
    SupplierProductFactory(product=gadget, unit_cost=Decimal("1.00"))
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            expected_date=next_week(),
            lines=[(gadget.pk, 3)],
            by=manager_user,
        )
    assert error_codes(excinfo) == {"cost_required"}
    assert "Northwind" in error_text(excinfo)
    assert table_counts() == before


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("inactive_supplier", "unknown_supplier"),
        ("unknown_warehouse", "unknown_warehouse"),
        ("no_date", "bad_date"),
        ("no_lines", "no_lines"),
        ("duplicate", "duplicate_product"),
        ("unknown_product", "unknown_product"),
        ("inactive_product", "unknown_product"),
        ("zero", "zero"),
        ("fractional", "fractional"),
        ("huge", "too_large"),
        ("bad_cost", "bad_cost"),
        ("negative_cost", "bad_cost"),
        ("three_decimals", "bad_cost"),
    ],
)
def test_purchase_order_create_rejects_bad_input_and_writes_nothing(
    manager_user, supplier, product, warehouse, case, code
):
    kwargs = {
        "supplier_id": supplier.pk,
        "warehouse_id": warehouse.pk,
        "expected_date": next_week(),
        "lines": [(product.pk, 5, "2.00")],
        "by": manager_user,
    }
    if case == "inactive_supplier":
        supplier.is_active = False
        supplier.save(update_fields=["is_active"])
    elif case == "unknown_warehouse":
        kwargs["warehouse_id"] = 999_999
    elif case == "no_date":
        kwargs["expected_date"] = "next week"
    elif case == "no_lines":
        kwargs["lines"] = []
    elif case == "duplicate":
        kwargs["lines"] = [(product.pk, 5, "2.00"), (product.pk, 1, "2.00")]
    elif case == "unknown_product":
        kwargs["lines"] = [(999_999, 5, "2.00")]
    elif case == "inactive_product":
        product.is_active = False
        product.save(update_fields=["is_active"])
    else:
        quantity, cost = {
            "zero": (0, "2.00"),
            "fractional": ("2.5", "2.00"),
            "huge": (10**9 + 1, "2.00"),
            "bad_cost": (5, "cheap"),
            "negative_cost": (5, "-1"),
            "three_decimals": (5, "1.005"),
        }[case]
        kwargs["lines"] = [(product.pk, quantity, cost)]
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_create(**kwargs)
    assert error_codes(excinfo) == {code}
    assert table_counts() == before


def test_purchase_order_create_with_a_product_id_beyond_the_integer_range_is_unknown(
    manager_user, supplier, product, warehouse
):
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            expected_date=next_week(),
            lines=[(product.pk, 1, "1.00"), (10**20, 1, "1.00")],
            by=manager_user,
        )
    assert error_codes(excinfo) == {"unknown_product"}
    assert table_counts() == before


# --- send / cancel -----------------------------------------------------------------------------


def test_purchase_order_send_marks_it_sent_once(manager_user, supplier, product, warehouse):
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=next_week(),
        lines=[(product.pk, 5, "2.00")],
        by=manager_user,
    )
    sent = purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    assert sent.status == PurchaseOrderStatus.SENT
    assert sent.sent_at is not None
    sent_at = sent.sent_at

    with pytest.raises(ValidationError) as excinfo:
        purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    assert error_codes(excinfo) == {"po_closed"}
    assert po.number in error_text(excinfo)
    po.refresh_from_db()
    assert (po.status, po.sent_at) == (PurchaseOrderStatus.SENT, sent_at)


def test_purchase_order_send_refuses_a_po_without_lines(manager_user, supplier, warehouse):
    po = PurchaseOrder.objects.create(
        supplier=supplier, warehouse=warehouse, expected_date=next_week()
    )
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    assert error_codes(excinfo) == {"no_lines"}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.DRAFT


@pytest.mark.parametrize("purchase_order_id", [999_999, "PO-1", None])
def test_purchase_order_send_unknown_po(manager_user, purchase_order_id):
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_send(purchase_order_id=purchase_order_id, by=manager_user)
    assert error_codes(excinfo) == {"unknown_po"}


@pytest.mark.parametrize("state", ["draft", "sent", "partially_received"])
def test_purchase_order_cancel_from_open_states(
    manager_user, staff_user, supplier, product, warehouse, state
):
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=next_week(),
        lines=[(product.pk, 5, "2.00")],
        by=manager_user,
    )
    if state != "draft":
        purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    if state == "partially_received":
        shipment_receive(
            purchase_order_id=po.pk,
            quantities={po_lines(po)[product.pk].pk: 2},
            idempotency_key="k-1",
            by=staff_user,
        )
    cancelled = purchase_order_cancel(
        purchase_order_id=po.pk, reason="Supplier out", by=manager_user
    )
    po.refresh_from_db()
    assert po.status == cancelled.status == PurchaseOrderStatus.CANCELLED
    assert po.cancel_reason == "Supplier out"
    assert po.closed_at is not None
    # What arrived stays in stock.
    expected_on_hand = 2 if state == "partially_received" else 0
    level = StockLevel.objects.filter(product=product, warehouse=warehouse).first()
    assert (level.on_hand if level else 0) == expected_on_hand


def test_purchase_order_cancel_refuses_received_and_cancelled(
    manager_user, staff_user, supplier, product, warehouse
):
    received = sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    shipment_receive(
        purchase_order_id=received.pk,
        quantities={po_lines(received)[product.pk].pk: 5},
        idempotency_key="k-1",
        by=staff_user,
    )
    cancelled = sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Dup", by=manager_user)

    for po, status in (
        (received, PurchaseOrderStatus.RECEIVED),
        (cancelled, PurchaseOrderStatus.CANCELLED),
    ):
        with pytest.raises(ValidationError) as excinfo:
            purchase_order_cancel(purchase_order_id=po.pk, reason="Again", by=manager_user)
        assert error_codes(excinfo) == {"po_closed"}
        po.refresh_from_db()
        assert po.status == status


def test_purchase_order_cancel_requires_a_reason(manager_user, supplier, product, warehouse):
    po = sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_cancel(purchase_order_id=po.pk, reason="  ", by=manager_user)
    assert error_codes(excinfo) == {"reason_required"}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.SENT


# --- shipment_receive --------------------------------------------------------------------------


def test_shipment_receive_partial_then_full(
    staff_user, manager_user, supplier, product, gadget, warehouse
):
    po = sent_po(supplier, warehouse, [(product, 10), (gadget, 4)], by=manager_user)
    lines = po_lines(po)

    first = shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[product.pk].pk: "6", lines[gadget.pk].pk: 0},
        idempotency_key="delivery-1",
        by=staff_user,
        reference="DN-1",
    )
    assert first.created
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert po.closed_at is None
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert level.on_hand == 6
    movement = StockMovement.objects.get(level=level)
    assert (movement.kind, movement.quantity, movement.balance_after) == (
        MovementKind.RECEIPT,
        6,
        6,
    )
    assert movement.created_by == staff_user
    assert po.number in movement.reference
    assert first.shipment.number in movement.reference
    assert "Northwind" in movement.reason
    assert list(first.shipment.lines.values_list("quantity", flat=True)) == [6]
    assert first.shipment.received_by == staff_user
    assert first.shipment.reference == "DN-1"
    assert first.product_ids == [product.pk]

    second = shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[product.pk].pk: 4, lines[gadget.pk].pk: 4},
        idempotency_key="delivery-2",
        by=staff_user,
    )
    assert second.created
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert po.closed_at is not None
    assert {line.product_id: line.quantity_received for line in po.lines.all()} == {
        product.pk: 10,
        gadget.pk: 4,
    }
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 10
    assert StockLevel.objects.get(product=gadget, warehouse=warehouse).on_hand == 4
    invariants_check()


def test_shipment_receive_same_key_twice_counts_once(
    staff_user, manager_user, supplier, product, warehouse
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    line = po_lines(po)[product.pk]
    first = shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 3}, idempotency_key="k-42", by=staff_user
    )
    again = shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 3}, idempotency_key="k-42", by=staff_user
    )
    assert (first.created, again.created) == (True, False)
    assert again.shipment.pk == first.shipment.pk
    assert Shipment.objects.count() == 1
    assert ShipmentLine.objects.count() == 1
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 3
    assert StockMovement.objects.count() == 1
    line.refresh_from_db()
    assert line.quantity_received == 3


def test_shipment_receive_retry_after_po_completed_still_counts_once(
    staff_user, manager_user, supplier, product, warehouse
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    line = po_lines(po)[product.pk]
    shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 10}, idempotency_key="k-1", by=staff_user
    )
    retry = shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 10}, idempotency_key="k-1", by=staff_user
    )
    assert retry.created is False
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 10


def test_shipment_receive_key_of_another_po_is_refused(
    staff_user, manager_user, supplier, product, warehouse
):
    first = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    second = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    shipment_receive(
        purchase_order_id=first.pk,
        quantities={po_lines(first)[product.pk].pk: 1},
        idempotency_key="k-1",
        by=staff_user,
    )
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=second.pk,
            quantities={po_lines(second)[product.pk].pk: 1},
            idempotency_key="k-1",
            by=staff_user,
        )
    assert error_codes(excinfo) == {"bad_key"}
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 1


def test_shipment_receive_refuses_over_receipt_by_default(
    staff_user, manager_user, supplier, product, warehouse
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    line = po_lines(po)[product.pk]
    shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 8}, idempotency_key="k-1", by=staff_user
    )
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=po.pk, quantities={line.pk: 3}, idempotency_key="k-2", by=staff_user
        )
    assert error_codes(excinfo) == {"over_receipt"}
    assert "at most 2 more" in error_text(excinfo)
    assert table_counts() == before
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 8


def test_shipment_receive_accepts_over_receipt_within_tolerance(
    settings, staff_user, manager_user, supplier, product, warehouse
):
    settings.BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT = 10
    po = sent_po(supplier, warehouse, [(product, 10)], by=manager_user)
    line = po_lines(po)[product.pk]
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=po.pk, quantities={line.pk: 12}, idempotency_key="k-0", by=staff_user
        )
    assert error_codes(excinfo) == {"over_receipt"}

    result = shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 11}, idempotency_key="k-1", by=staff_user
    )
    assert result.created
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 11
    invariants_check()


@pytest.mark.parametrize("state", ["draft", "cancelled", "received"])
def test_shipment_receive_refuses_pos_that_are_not_open(
    staff_user, manager_user, supplier, product, warehouse, state
):
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=next_week(),
        lines=[(product.pk, 5, "2.00")],
        by=manager_user,
    )
    line = po_lines(po)[product.pk]
    if state != "draft":
        purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    if state == "cancelled":
        purchase_order_cancel(purchase_order_id=po.pk, reason="Dup", by=manager_user)
    if state == "received":
        shipment_receive(
            purchase_order_id=po.pk, quantities={line.pk: 5}, idempotency_key="k-0", by=staff_user
        )
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=po.pk, quantities={line.pk: 1}, idempotency_key="k-1", by=staff_user
        )
    assert error_codes(excinfo) == {"po_closed"}
    assert table_counts() == before


@pytest.mark.parametrize(
    ("quantities", "key", "code"),
    [
        ({"line": 0}, "k", "nothing_received"),
        ({}, "k", "nothing_received"),
        ({"line": -1}, "k", "negative"),
        ({"line": "2.5"}, "k", "fractional"),
        ({"line": "a few"}, "k", "not_a_number"),
        ({"line": 10**9 + 1}, "k", "too_large"),
        ({"other": 1}, "k", "unknown_line"),
        ({"zzz": 1}, "k", "unknown_line"),
        ({"line": 1}, "", "bad_key"),
        ({"line": 1}, "x" * 65, "bad_key"),
        ({"line": 1}, None, "bad_key"),
    ],
)
def test_shipment_receive_rejects_bad_input_and_writes_nothing(
    staff_user, manager_user, supplier, product, warehouse, quantities, key, code
):
    po = sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    other = sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    ids = {"line": po_lines(po)[product.pk].pk, "other": po_lines(other)[product.pk].pk}
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=po.pk,
            quantities={ids.get(k, k): qty for k, qty in quantities.items()},
            idempotency_key=key,
            by=staff_user,
        )
    assert error_codes(excinfo) == {code}
    assert table_counts() == before


def test_shipment_receive_unknown_po(staff_user):
    with pytest.raises(ValidationError) as excinfo:
        shipment_receive(
            purchase_order_id=999_999, quantities={1: 1}, idempotency_key="k", by=staff_user
        )
    assert error_codes(excinfo) == {"unknown_po"}
