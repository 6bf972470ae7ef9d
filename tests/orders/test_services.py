"""orders.services: placing, cancelling and shipping orders (rules 1, 2, 3, 6 and 8)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.models import MovementKind, StockLevel, StockMovement
from orders.models import Allocation, AllocationKind, Priority, SalesOrderStatus
from orders.services import (
    OrderLineInput,
    customer_create,
    order_cancel,
    order_line_cancel,
    order_place,
    order_ship,
)
from tests.factories import CustomerFactory, WarehouseFactory
from tests.helpers import (
    error_codes,
    error_text,
    give_stock,
    invariants_check,
    line_of,
    place,
    stock_snapshot,
    table_counts,
)


def level_of(product, warehouse) -> StockLevel:
    return StockLevel.objects.get(product=product, warehouse=warehouse)


# --- order_place -------------------------------------------------------------------------------


def test_order_allocates_free_stock_and_backorders_the_rest(
    staff_user, customer, product, warehouse
):
    give_stock(product, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 15)], by=staff_user)

    line = line_of(order, product)
    assert (line.quantity_ordered, line.quantity_allocated, line.quantity_backordered) == (
        15,
        10,
        5,
    )
    assert order.status == SalesOrderStatus.BACKORDERED
    assert level_of(product, warehouse).allocated == 10
    (allocation,) = Allocation.objects.filter(line=line)
    assert (allocation.quantity, allocation.kind) == (10, AllocationKind.PLACEMENT)
    assert allocation.created_by == staff_user
    assert order.number in allocation.reason
    invariants_check()


def test_order_fully_covered_by_free_stock_is_ready(staff_user, customer, product, warehouse):
    give_stock(product, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 10)], by=staff_user)
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.READY
    assert line_of(order, product).quantity_backordered == 0
    level = level_of(product, warehouse)
    assert (level.on_hand, level.allocated) == (10, 10)


def test_order_without_stock_waits_and_records_no_allocation(
    staff_user, customer, product, warehouse
):
    order = place(customer, warehouse, [(product, 4)], by=staff_user)
    line = line_of(order, product)
    assert (line.quantity_allocated, line.quantity_backordered) == (0, 4)
    assert order.status == SalesOrderStatus.BACKORDERED
    assert not Allocation.objects.exists()
    # The level is created on first use, empty.
    level = level_of(product, warehouse)
    assert (level.on_hand, level.allocated) == (0, 0)


def test_order_lines_allocate_independently(staff_user, customer, product, gadget, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    give_stock(gadget, warehouse, 1, by=staff_user)
    order = order_place(
        customer_id=customer.pk,
        warehouse_id=warehouse.pk,
        lines=[OrderLineInput(product_id=product.pk, quantity=5), (gadget.pk, "3")],
        by=staff_user,
    )
    assert line_of(order, product).quantity_allocated == 5
    assert line_of(order, gadget).quantity_allocated == 1
    assert line_of(order, gadget).quantity_backordered == 2
    assert order.status == SalesOrderStatus.BACKORDERED
    invariants_check()


def test_order_takes_only_stock_not_owed_to_queue(staff_user, customer, product, warehouse):
    waiting = place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    give_stock(product, warehouse, 8, by=staff_user)  # arrived, not yet released
    # 8 available, 5 owed to the waiting line: a new order may take 3 and no more.
    order = place(customer, warehouse, [(product, 6)], by=staff_user)

    line = line_of(order, product)
    assert (line.quantity_allocated, line.quantity_backordered) == (3, 3)
    assert line_of(waiting, product).quantity_backordered == 5
    assert level_of(product, warehouse).allocated == 3
    invariants_check()


def test_order_gets_nothing_when_the_queue_is_owed_all_available_stock(
    staff_user, customer, product, warehouse
):
    place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 1)], by=staff_user)
    assert line_of(order, product).quantity_allocated == 0
    assert order.status == SalesOrderStatus.BACKORDERED
    assert not Allocation.objects.filter(line__order=order).exists()


def test_urgent_order_still_cannot_take_stock_owed_to_the_queue(
    staff_user, customer, product, warehouse
):
    place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user, priority=Priority.LOW)
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 2)], by=staff_user, priority=Priority.URGENT)
    assert order.priority == Priority.URGENT
    assert line_of(order, product).quantity_allocated == 0


def test_queue_at_another_warehouse_does_not_hold_back_stock(
    staff_user, customer, product, warehouse
):
    elsewhere = WarehouseFactory(code="EAST")
    place(CustomerFactory(), elsewhere, [(product, 5)], by=staff_user)
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 4)], by=staff_user)
    assert line_of(order, product).quantity_allocated == 4


def test_order_place_records_priority_reference_and_creator(
    staff_user, customer, product, warehouse
):
    placed_at = timezone.now() - dt.timedelta(hours=3)
    order = order_place(
        customer_id=customer.pk,
        warehouse_id=warehouse.pk,
        lines=[(product.pk, 1)],
        by=staff_user,
        priority=Priority.HIGH,
        customer_reference="PO-778",
        placed_at=placed_at,
    )
    order.refresh_from_db()
    assert (order.priority, order.customer_reference, order.placed_at) == (
        Priority.HIGH,
        "PO-778",
        placed_at,
    )
    assert order.created_by == staff_user
    assert order.customer == customer


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown_product", "unknown_product"),
        ("inactive_product", "unknown_product"),
        ("no_product", "unknown_product"),
        ("inactive_customer", "unknown_customer"),
        ("unknown_customer", "unknown_customer"),
        ("inactive_warehouse", "unknown_warehouse"),
        ("duplicate_lines", "duplicate_product"),
        ("no_lines", "no_lines"),
        ("zero", "zero"),
        ("negative", "negative"),
        ("fractional", "fractional"),
        ("fractional_float", "fractional"),
        ("huge", "too_large"),
        ("not_a_number", "not_a_number"),
        ("blank", "required"),
        ("bad_priority", "bad_priority"),
    ],
)
def test_order_place_rejects_bad_input_and_writes_nothing(
    staff_user, customer, product, gadget, warehouse, case, code
):
    give_stock(product, warehouse, 10, by=staff_user)
    before = table_counts()
    snapshot = stock_snapshot()
    kwargs = {
        "customer_id": customer.pk,
        "warehouse_id": warehouse.pk,
        "lines": [(product.pk, 2), (gadget.pk, 1)],
        "by": staff_user,
    }
    if case == "unknown_product":
        kwargs["lines"] = [(product.pk, 2), (999_999, 1)]
    elif case == "inactive_product":
        gadget.is_active = False
        gadget.save(update_fields=["is_active"])
    elif case == "no_product":
        kwargs["lines"] = [("", 2)]
    elif case == "inactive_customer":
        customer.is_active = False
        customer.save(update_fields=["is_active"])
    elif case == "unknown_customer":
        kwargs["customer_id"] = 999_999
    elif case == "inactive_warehouse":
        warehouse.is_active = False
        warehouse.save(update_fields=["is_active"])
    elif case == "duplicate_lines":
        kwargs["lines"] = [(product.pk, 2), (gadget.pk, 1), (product.pk, 3)]
    elif case == "no_lines":
        kwargs["lines"] = []
    elif case == "bad_priority":
        kwargs["priority"] = 9
    else:
        quantity = {
            "zero": 0,
            "negative": -3,
            "fractional": "1.5",
            "fractional_float": 2.5,
            "huge": 10**9 + 1,
            "not_a_number": "two",
            "blank": "",
        }[case]
        kwargs["lines"] = [(product.pk, 2), (gadget.pk, quantity)]

    with pytest.raises(ValidationError) as excinfo:
        order_place(**kwargs)

    assert error_codes(excinfo) == {code}
    assert table_counts() == before
    assert stock_snapshot() == snapshot


@pytest.mark.parametrize("bad_id", [10**20, 2**63, 0, -1, True, "7x", None])
def test_order_place_with_ids_that_cannot_be_products_is_unknown_product(
    staff_user, customer, product, warehouse, bad_id
):
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        order_place(
            customer_id=customer.pk,
            warehouse_id=warehouse.pk,
            lines=[(product.pk, 1), (bad_id, 1)],
            by=staff_user,
        )
    assert error_codes(excinfo) == {"unknown_product"}
    assert table_counts() == before


def test_customer_create_refuses_duplicate_names_ignoring_case(db):
    customer_create(name="Acme Ltd", email="a@example.com")
    with pytest.raises(ValidationError) as excinfo:
        customer_create(name="  ACME ltd ")
    assert error_codes(excinfo) == {"duplicate"}
    with pytest.raises(ValidationError) as excinfo:
        customer_create(name="   ")
    assert error_codes(excinfo) == {"required"}


# --- order_cancel ------------------------------------------------------------------------------


def test_order_cancel_frees_allocations_with_cancellation_history(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 10, by=staff_user)
    give_stock(gadget, warehouse, 2, by=staff_user)
    order = place(customer, warehouse, [(product, 6), (gadget, 5)], by=staff_user)

    result = order_cancel(order_id=order.pk, reason="Customer went elsewhere", by=staff_user)

    assert result.freed == {product.pk: 6, gadget.pk: 2}
    assert level_of(product, warehouse).allocated == 0
    assert level_of(gadget, warehouse).allocated == 0
    assert level_of(product, warehouse).on_hand == 10
    for product_, freed, ordered in ((product, 6, 6), (gadget, 2, 5)):
        line = line_of(order, product_)
        assert (line.quantity_allocated, line.quantity_cancelled, line.quantity_backordered) == (
            0,
            ordered,
            0,
        )
        assert line.cancel_reason == "Customer went elsewhere"
        cancellation = Allocation.objects.get(line=line, kind=AllocationKind.CANCELLATION)
        assert cancellation.quantity == -freed
        assert cancellation.created_by == staff_user
        assert cancellation.reason == "Customer went elsewhere"
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert order.cancel_reason == "Customer went elsewhere"
    invariants_check()


def test_freed_stock_goes_to_the_queue_not_to_the_next_new_order(
    staff_user, customer, product, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    first = place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    waiting = place(CustomerFactory(), warehouse, [(product, 4)], by=staff_user)
    order_cancel(order_id=first.pk, reason="Cancelled by phone", by=staff_user)

    # 5 freed, 4 of them owed to the waiting order: a new order can take only 1.
    newcomer = place(customer, warehouse, [(product, 3)], by=staff_user)
    assert line_of(newcomer, product).quantity_allocated == 1
    assert line_of(waiting, product).quantity_backordered == 4
    invariants_check()


def test_freed_stock_all_owed_to_the_queue_gives_the_next_order_nothing(
    staff_user, customer, product, warehouse
):
    give_stock(product, warehouse, 3, by=staff_user)
    first = place(CustomerFactory(), warehouse, [(product, 3)], by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)
    order_line_cancel(line_id=line_of(first, product).pk, reason="Not needed", by=staff_user)
    newcomer = place(customer, warehouse, [(product, 1)], by=staff_user)
    assert line_of(newcomer, product).quantity_allocated == 0


def test_order_cancel_of_partly_shipped_order_cancels_the_rest_and_counts_as_shipped(
    staff_user, customer, product, warehouse
):
    give_stock(product, warehouse, 4, by=staff_user)
    order = place(customer, warehouse, [(product, 10)], by=staff_user)
    line = line_of(order, product)
    order_ship(order_id=order.pk, by=staff_user, quantities={line.pk: 3})

    result = order_cancel(order_id=order.pk, reason="Rest not needed", by=staff_user)

    line.refresh_from_db()
    assert (line.quantity_shipped, line.quantity_allocated, line.quantity_cancelled) == (3, 0, 7)
    assert result.freed == {product.pk: 1}
    assert result.order.status == SalesOrderStatus.SHIPPED
    assert level_of(product, warehouse).allocated == 0
    invariants_check()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_order_cancel_requires_a_reason(staff_user, customer, product, warehouse, reason):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 5)], by=staff_user)
    snapshot = stock_snapshot()
    with pytest.raises(ValidationError) as excinfo:
        order_cancel(order_id=order.pk, reason=reason, by=staff_user)
    assert error_codes(excinfo) == {"reason_required"}
    assert stock_snapshot() == snapshot
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.READY


def test_order_cancel_refuses_closed_orders(staff_user, customer, product, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    cancelled = place(customer, warehouse, [(product, 2)], by=staff_user)
    order_cancel(order_id=cancelled.pk, reason="Duplicate", by=staff_user)
    shipped = place(customer, warehouse, [(product, 2)], by=staff_user)
    order_ship(order_id=shipped.pk, by=staff_user)
    history = Allocation.objects.count()
    snapshot = stock_snapshot()

    for order in (cancelled, shipped):
        with pytest.raises(ValidationError) as excinfo:
            order_cancel(order_id=order.pk, reason="Again", by=staff_user)
        assert error_codes(excinfo) == {"order_closed"}
        assert order.number in error_text(excinfo)
    assert Allocation.objects.count() == history
    assert stock_snapshot() == snapshot


@pytest.mark.parametrize("order_id", [999_999, "x", None])
def test_order_cancel_unknown_order(staff_user, order_id):
    with pytest.raises(ValidationError) as excinfo:
        order_cancel(order_id=order_id, reason="Typo", by=staff_user)
    assert error_codes(excinfo) == {"unknown_order"}


# --- order_line_cancel -------------------------------------------------------------------------


def test_order_line_cancel_frees_the_line_and_the_order_follows_its_other_lines(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 5), (gadget, 3)], by=staff_user)
    assert order.status == SalesOrderStatus.BACKORDERED  # the gadget waits

    result = order_line_cancel(
        line_id=line_of(order, gadget).pk, reason="Discontinued", by=staff_user
    )

    assert result.freed == {}
    assert result.order.status == SalesOrderStatus.READY
    gadget_line = line_of(order, gadget)
    assert (gadget_line.quantity_cancelled, gadget_line.quantity_backordered) == (3, 0)
    assert gadget_line.cancel_reason == "Discontinued"
    assert line_of(order, product).quantity_allocated == 5
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.READY
    assert order.cancelled_at is None
    invariants_check()


def test_order_line_cancel_of_allocated_line_writes_negative_history(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 4), (gadget, 3)], by=staff_user)
    line = line_of(order, product)

    result = order_line_cancel(line_id=line.pk, reason="Wrong size", by=staff_user)

    assert result.freed == {product.pk: 4}
    assert level_of(product, warehouse).allocated == 0
    (cancellation,) = Allocation.objects.filter(line=line, kind=AllocationKind.CANCELLATION)
    assert (cancellation.quantity, cancellation.reason) == (-4, "Wrong size")
    assert result.order.status == SalesOrderStatus.BACKORDERED  # the gadget still waits
    invariants_check()


def test_cancelling_every_line_cancels_the_order(staff_user, customer, product, gadget, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 4), (gadget, 3)], by=staff_user)
    order_line_cancel(line_id=line_of(order, product).pk, reason="No", by=staff_user)
    result = order_line_cancel(line_id=line_of(order, gadget).pk, reason="Nope", by=staff_user)
    assert result.order.status == SalesOrderStatus.CANCELLED
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert order.cancel_reason == "Nope"


def test_order_line_cancel_refuses_a_fully_shipped_line(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customer, warehouse, [(product, 2), (gadget, 3)], by=staff_user)
    order_ship(order_id=order.pk, by=staff_user)
    with pytest.raises(ValidationError) as excinfo:
        order_line_cancel(line_id=line_of(order, product).pk, reason="Late", by=staff_user)
    assert error_codes(excinfo) == {"line_closed"}
    assert line_of(order, product).quantity_cancelled == 0


def test_order_line_cancel_refuses_lines_of_closed_orders(staff_user, customer, product, warehouse):
    order = place(customer, warehouse, [(product, 2)], by=staff_user)
    order_cancel(order_id=order.pk, reason="Duplicate", by=staff_user)
    with pytest.raises(ValidationError) as excinfo:
        order_line_cancel(line_id=line_of(order, product).pk, reason="Again", by=staff_user)
    assert error_codes(excinfo) == {"order_closed"}


@pytest.mark.parametrize(
    ("line_id", "reason", "code"),
    [
        (999_999, "Gone", "unknown_line"),
        ("?", "Gone", "unknown_line"),
        ("real", "", "reason_required"),
    ],
)
def test_order_line_cancel_rejects_bad_requests(
    staff_user, customer, product, warehouse, line_id, reason, code
):
    order = place(customer, warehouse, [(product, 2)], by=staff_user)
    if line_id == "real":
        line_id = line_of(order, product).pk
    with pytest.raises(ValidationError) as excinfo:
        order_line_cancel(line_id=line_id, reason=reason, by=staff_user)
    assert error_codes(excinfo) == {code}
    assert line_of(order, product).quantity_cancelled == 0


# --- order_ship --------------------------------------------------------------------------------


def test_order_ship_all_moves_stock_out_with_shipment_movements(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 10, by=staff_user)
    give_stock(gadget, warehouse, 3, by=staff_user)
    order = place(customer, warehouse, [(product, 6), (gadget, 3)], by=staff_user)

    shipped = order_ship(order_id=order.pk, by=staff_user)

    assert shipped.status == SalesOrderStatus.SHIPPED
    for product_, quantity, left in ((product, 6, 4), (gadget, 3, 0)):
        level = level_of(product_, warehouse)
        assert (level.on_hand, level.allocated) == (left, 0)
        movement = StockMovement.objects.get(level=level, kind=MovementKind.SHIPMENT)
        assert (movement.quantity, movement.balance_after) == (-quantity, left)
        assert movement.reference == order.number
        assert movement.created_by == staff_user
        line = line_of(order, product_)
        assert (line.quantity_shipped, line.quantity_allocated) == (quantity, 0)
        assert Allocation.objects.get(line=line, kind=AllocationKind.SHIPMENT).quantity == -quantity
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.SHIPPED
    invariants_check()


def test_order_ship_part_keeps_the_order_ready(staff_user, customer, product, warehouse):
    give_stock(product, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 6)], by=staff_user)
    line = line_of(order, product)

    shipped = order_ship(order_id=order.pk, by=staff_user, quantities={str(line.pk): "2"})

    assert shipped.status == SalesOrderStatus.READY
    level = level_of(product, warehouse)
    assert (level.on_hand, level.allocated) == (8, 4)
    line.refresh_from_db()
    assert (line.quantity_shipped, line.quantity_allocated) == (2, 4)
    order_ship(order_id=order.pk, by=staff_user)
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.SHIPPED
    assert level_of(product, warehouse).on_hand == 4
    invariants_check()


def test_order_ship_of_a_waiting_order_ships_what_is_allocated_and_keeps_waiting(
    staff_user, customer, product, warehouse
):
    give_stock(product, warehouse, 3, by=staff_user)
    order = place(customer, warehouse, [(product, 5)], by=staff_user)
    shipped = order_ship(order_id=order.pk, by=staff_user)
    assert shipped.status == SalesOrderStatus.BACKORDERED
    line = line_of(order, product)
    assert (line.quantity_shipped, line.quantity_backordered) == (3, 2)
    invariants_check()


def test_order_ship_refuses_more_than_allocated(staff_user, customer, product, warehouse):
    give_stock(product, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 6)], by=staff_user)
    line = line_of(order, product)
    snapshot = stock_snapshot()
    movements = StockMovement.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        order_ship(order_id=order.pk, by=staff_user, quantities={line.pk: 7})
    assert error_codes(excinfo) == {"over_allocated"}
    assert "Only 6 of WIDGET-1" in error_text(excinfo)
    assert stock_snapshot() == snapshot
    assert StockMovement.objects.count() == movements


def test_order_ship_over_shipping_one_line_ships_no_line(
    staff_user, customer, product, gadget, warehouse
):
    give_stock(product, warehouse, 10, by=staff_user)
    give_stock(gadget, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 2), (gadget, 2)], by=staff_user)
    snapshot = stock_snapshot()
    with pytest.raises(ValidationError):
        order_ship(
            order_id=order.pk,
            by=staff_user,
            quantities={line_of(order, product).pk: 1, line_of(order, gadget).pk: 3},
        )
    assert stock_snapshot() == snapshot


def test_order_ship_refuses_cancelled_and_shipped_orders(staff_user, customer, product, warehouse):
    give_stock(product, warehouse, 10, by=staff_user)
    cancelled = place(customer, warehouse, [(product, 2)], by=staff_user)
    order_cancel(order_id=cancelled.pk, reason="Duplicate", by=staff_user)
    shipped = place(customer, warehouse, [(product, 2)], by=staff_user)
    order_ship(order_id=shipped.pk, by=staff_user)
    snapshot = stock_snapshot()
    for order in (cancelled, shipped):
        with pytest.raises(ValidationError) as excinfo:
            order_ship(order_id=order.pk, by=staff_user)
        assert error_codes(excinfo) == {"order_closed"}
    assert stock_snapshot() == snapshot


def test_order_ship_with_nothing_allocated_is_refused(staff_user, customer, product, warehouse):
    order = place(customer, warehouse, [(product, 2)], by=staff_user)
    with pytest.raises(ValidationError) as excinfo:
        order_ship(order_id=order.pk, by=staff_user)
    assert error_codes(excinfo) == {"nothing_to_ship"}


@pytest.mark.parametrize(
    ("quantities", "code"),
    [
        ({"line": 0}, "nothing_to_ship"),
        ({}, "nothing_to_ship"),
        ({"line": "1.5"}, "fractional"),
        ({"line": -1}, "negative"),
        ({"line": "x"}, "not_a_number"),
        ({"other": 1}, "unknown_line"),
        ({"abc": 1}, "unknown_line"),
    ],
)
def test_order_ship_rejects_bad_quantities(
    staff_user, customer, product, warehouse, quantities, code
):
    give_stock(product, warehouse, 10, by=staff_user)
    order = place(customer, warehouse, [(product, 2)], by=staff_user)
    other = place(CustomerFactory(), warehouse, [(product, 2)], by=staff_user)
    ids = {"line": line_of(order, product).pk, "other": line_of(other, product).pk}
    snapshot = stock_snapshot()
    with pytest.raises(ValidationError) as excinfo:
        order_ship(
            order_id=order.pk,
            by=staff_user,
            quantities={ids.get(key, key): qty for key, qty in quantities.items()},
        )
    assert error_codes(excinfo) == {code}
    assert stock_snapshot() == snapshot
