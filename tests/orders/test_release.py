"""orders.services.release: proposing and confirming a release to the backorder queue (rule 4)."""

import datetime as dt
import smtplib
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.services import stock_adjust
from orders.models import Allocation, AllocationKind, Priority, Release, SalesOrderStatus
from orders.services import (
    ReleaseDecision,
    StalePlanError,
    order_cancel,
    order_ship,
    release_confirm,
    release_propose,
)
from suppliers.models import PurchaseOrderLine
from suppliers.services import shipment_receive
from tests.factories import CustomerFactory, ProductFactory, SupplierFactory, WarehouseFactory
from tests.helpers import (
    error_codes,
    give_stock,
    invariants_check,
    level_for,
    line_of,
    place,
    sent_po,
    stock_snapshot,
    table_counts,
)

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=10)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture
def queue(staff_user, product, warehouse):
    """Five orders waiting for the product, placed out of release order.

    Release order: high (placed hour 5), normal hour 0, normal hour 1 (placed first of two at the
    same time), normal hour 1, low hour -100 (the oldest, but low priority).
    """
    specs = [
        ("normal-0", Priority.NORMAL, at(0), 4),
        ("high-5", Priority.HIGH, at(5), 3),
        ("normal-1a", Priority.NORMAL, at(1), 5),
        ("normal-1b", Priority.NORMAL, at(1), 2),
        ("low-old", Priority.LOW, at(-100), 6),
    ]
    orders = {}
    for name, priority, placed_at, quantity in specs:
        customer = CustomerFactory(name=f"Customer {name}", email=f"{name}@example.com")
        orders[name] = place(
            customer,
            warehouse,
            [(product, quantity)],
            by=staff_user,
            priority=priority,
            placed_at=placed_at,
        )
    return orders


RELEASE_ORDER = ["high-5", "normal-0", "normal-1a", "normal-1b", "low-old"]


def lines_in_order(queue, product, names=RELEASE_ORDER):
    return [line_of(queue[name], product) for name in names]


def propose(warehouse, products, **kwargs):
    return release_propose(
        warehouse_id=warehouse.pk, product_ids=[p.pk for p in products], **kwargs
    )


def decisions_of(plan):
    return [
        ReleaseDecision(
            line_id=line.line_id, quantity=line.quantity, moved_up_reason=line.moved_up_reason
        )
        for product in plan.products
        for line in product.lines
    ]


def confirm(plan, decisions, *, by, products=None, **kwargs):
    return release_confirm(
        warehouse_id=plan.warehouse_id,
        product_ids=products or plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=decisions,
        by=by,
        shipment_id=kwargs.pop("shipment_id", plan.shipment_id),
        **kwargs,
    )


# --- release_propose ---------------------------------------------------------------------------


def test_release_queue_is_priority_then_placed_time_then_line_id(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 1, by=staff_user)
    plan = propose(warehouse, [product])

    (entry,) = plan.products
    expected = lines_in_order(queue, product)
    assert [p.line_id for p in entry.lines] == [line.pk for line in expected]
    assert [p.position for p in entry.lines] == [1, 2, 3, 4, 5]
    assert [p.order_number for p in entry.lines] == [queue[n].number for n in RELEASE_ORDER]
    assert entry.lines[0].priority == Priority.HIGH
    assert entry.lines[0].customer == "Customer high-5"
    assert [p.waiting for p in entry.lines] == [3, 4, 5, 2, 6]


def test_release_proposal_gives_greedily_in_queue_order(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 9, by=staff_user)
    plan = propose(warehouse, [product])
    (entry,) = plan.products
    assert [p.quantity for p in entry.lines] == [3, 4, 2, 0, 0]
    assert (entry.available, entry.to_release, entry.left_over, entry.waiting) == (9, 9, 0, 20)
    assert plan.has_work


def test_release_proposal_with_more_stock_than_waiting_leaves_the_rest(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 25, by=staff_user)
    (entry,) = propose(warehouse, [product]).products
    assert [p.quantity for p in entry.lines] == [3, 4, 5, 2, 6]
    assert entry.left_over == 5


def test_release_proposal_without_free_stock_has_no_work(staff_user, queue, product, warehouse):
    plan = propose(warehouse, [product])
    assert [p.quantity for p in plan.products[0].lines] == [0, 0, 0, 0, 0]
    assert not plan.has_work


def test_release_reason_names_position_priority_and_what_the_line_gets(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 9, by=staff_user)
    lines = propose(warehouse, [product]).products[0].lines
    assert lines[0].reason.startswith("Position 1: high priority, waiting since ")
    assert f"{timezone.localtime(at(5)):%d %b %Y}" in lines[0].reason
    assert "(10 days)" in lines[0].reason or "(9 days)" in lines[0].reason
    assert lines[0].reason.endswith("gets all 3 waiting.")
    assert lines[1].reason.startswith("Position 2: normal priority")
    assert "gets 2 of 5: the stock runs out" in lines[2].reason
    assert "gets nothing" in lines[3].reason
    assert lines[4].reason.startswith("Position 5: low priority")


def test_release_moved_up_puts_the_line_first_with_its_reason(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 6, by=staff_user)
    moved = line_of(queue["low-old"], product)
    plan = propose(warehouse, [product], moved_up={str(moved.pk): "Hospital, out of stock"})
    lines = plan.products[0].lines
    assert lines[0].line_id == moved.pk
    assert lines[0].position == 5
    assert lines[0].moved_up_reason == "Hospital, out of stock"
    assert lines[0].reason.startswith("Moved up from position 5: Hospital, out of stock")
    assert [p.quantity for p in lines] == [6, 0, 0, 0, 0]
    assert [p.line_id for p in lines[1:]] == [
        line.pk for line in lines_in_order(queue, product, RELEASE_ORDER[:4])
    ]


def test_release_moved_up_lines_keep_the_order_they_were_moved_in(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 20, by=staff_user)
    low = line_of(queue["low-old"], product)
    normal = line_of(queue["normal-1b"], product)
    plan = propose(warehouse, [product], moved_up={low.pk: "First", normal.pk: "Second"})
    assert [p.line_id for p in plan.products[0].lines[:2]] == [low.pk, normal.pk]


def test_release_moved_up_needs_a_reason(staff_user, queue, product, warehouse):
    moved = line_of(queue["low-old"], product)
    with pytest.raises(ValidationError) as excinfo:
        propose(warehouse, [product], moved_up={moved.pk: "  "})
    assert error_codes(excinfo) == {"reason_required"}


def test_release_propose_with_non_numeric_moved_up_line_is_a_validation_error(
    staff_user, queue, product, warehouse
):
    with pytest.raises(ValidationError) as excinfo:
        propose(warehouse, [product], moved_up={"first": "VIP"})
    assert error_codes(excinfo) == {"unknown_line"}


def test_release_propose_is_read_only(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 9, by=staff_user)
    unstocked = ProductFactory()
    before = table_counts()
    snapshot = stock_snapshot()
    with CaptureQueriesContext(connection) as queries:
        plan = propose(warehouse, [product, unstocked])
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert statements == ["SELECT"] * 3
    assert plan.has_work
    assert table_counts() == before
    assert stock_snapshot() == snapshot


def test_release_propose_lists_products_with_stock_or_queue_only(
    staff_user, queue, product, warehouse
):
    stocked = ProductFactory(sku="STOCKED")
    give_stock(stocked, warehouse, 3, by=staff_user)
    nothing = ProductFactory(sku="NOTHING")
    plan = propose(warehouse, [product, stocked, nothing])
    assert [p.sku for p in plan.products] == ["WIDGET-1", "STOCKED"]
    assert plan.products[1].lines == []


def test_release_fingerprint_is_stable_until_something_changes(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 3, by=staff_user)
    first = propose(warehouse, [product]).fingerprint
    assert propose(warehouse, [product]).fingerprint == first
    give_stock(product, warehouse, 1, by=staff_user)
    assert propose(warehouse, [product]).fingerprint != first


def test_release_propose_with_a_product_id_beyond_the_integer_range_is_unknown(
    staff_user, queue, product, warehouse
):
    with pytest.raises(ValidationError) as excinfo:
        release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk, 10**20])
    assert error_codes(excinfo) == {"unknown_product"}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"warehouse_id": 999_999}, "unknown_warehouse"),
        ({"warehouse_id": "main"}, "unknown_warehouse"),
        ({"product_ids": []}, "no_products"),
        ({"product_ids": ["x"]}, "unknown_product"),
    ],
)
def test_release_propose_rejects_bad_input(warehouse, product, kwargs, code):
    arguments = {"warehouse_id": warehouse.pk, "product_ids": [product.pk], **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        release_propose(**arguments)
    assert error_codes(excinfo) == {code}


# --- release_confirm ---------------------------------------------------------------------------


def test_release_confirm_applies_the_plan_with_release_and_shipment_recorded(
    staff_user, manager_user, queue, product, warehouse
):
    po = sent_po(SupplierFactory(), warehouse, [(product, 9)], by=manager_user)
    po_line = PurchaseOrderLine.objects.get(purchase_order=po)
    received = shipment_receive(
        purchase_order_id=po.pk, quantities={po_line.pk: 9}, idempotency_key="k-1", by=staff_user
    )
    shipment = received.shipment
    plan = propose(warehouse, [product], shipment_id=shipment.pk)

    result = confirm(plan, decisions_of(plan), by=staff_user, note="Morning delivery")

    assert result.units == 9
    release = Release.objects.get()
    assert result.release == release
    assert (release.warehouse, release.shipment, release.note, release.created_by) == (
        warehouse,
        shipment,
        "Morning delivery",
        staff_user,
    )
    expected = dict(zip(RELEASE_ORDER, [3, 4, 2, 0, 0], strict=True))
    for name, quantity in expected.items():
        line = line_of(queue[name], product)
        assert line.quantity_allocated == quantity
        rows = list(Allocation.objects.filter(line=line))
        if quantity:
            (row,) = rows
            assert (row.quantity, row.kind, row.release, row.shipment) == (
                quantity,
                AllocationKind.RELEASE,
                release,
                shipment,
            )
            assert row.created_by == staff_user
            assert row.reason == f"Queue position {RELEASE_ORDER.index(name) + 1}"
        else:
            assert rows == []
    level = level_for(product, warehouse)
    assert (level.on_hand, level.allocated) == (9, 9)
    invariants_check()


def test_release_confirm_makes_fully_allocated_orders_ready_and_emails_after_commit(
    staff_user, queue, product, warehouse, django_capture_on_commit_callbacks, mailoutbox
):
    give_stock(product, warehouse, 9, by=staff_user)
    plan = propose(warehouse, [product])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = confirm(plan, decisions_of(plan), by=staff_user)
    # Nothing is sent before the transaction commits.
    assert mailoutbox == []
    assert len(callbacks) == 1
    callbacks[0]()

    assert sorted(o.pk for o in result.ready_orders) == sorted(
        queue[n].pk for n in ("high-5", "normal-0")
    )
    for order in queue.values():
        order.refresh_from_db()
    assert {name: order.status for name, order in queue.items()} == {
        "high-5": SalesOrderStatus.READY,
        "normal-0": SalesOrderStatus.READY,
        "normal-1a": SalesOrderStatus.BACKORDERED,
        "normal-1b": SalesOrderStatus.BACKORDERED,
        "low-old": SalesOrderStatus.BACKORDERED,
    }
    assert sorted(m.to[0] for m in mailoutbox) == ["high-5@example.com", "normal-0@example.com"]
    message = next(m for m in mailoutbox if m.to == ["high-5@example.com"])
    assert queue["high-5"].number in message.subject
    assert "Customer high-5" in message.body


def test_release_confirm_email_is_sent_when_callbacks_execute(
    staff_user, queue, product, warehouse, django_capture_on_commit_callbacks, mailoutbox
):
    give_stock(product, warehouse, 3, by=staff_user)
    plan = propose(warehouse, [product])
    with django_capture_on_commit_callbacks(execute=True):
        confirm(plan, decisions_of(plan), by=staff_user)
    assert [m.to for m in mailoutbox] == [["high-5@example.com"]]


def test_release_confirm_order_with_another_waiting_line_stays_backordered(
    staff_user, product, warehouse, django_capture_on_commit_callbacks, mailoutbox
):
    gadget = ProductFactory(sku="GADGET-2")
    order = place(CustomerFactory(), warehouse, [(product, 2), (gadget, 2)], by=staff_user)
    give_stock(product, warehouse, 2, by=staff_user)
    plan = propose(warehouse, [product, gadget])
    with django_capture_on_commit_callbacks(execute=True):
        result = confirm(plan, decisions_of(plan), by=staff_user)
    assert result.ready_orders == []
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.BACKORDERED
    assert line_of(order, product).quantity_allocated == 2
    assert mailoutbox == []


def test_release_confirm_does_not_email_customers_without_an_address(
    staff_user, product, warehouse, django_capture_on_commit_callbacks, mailoutbox
):
    order = place(CustomerFactory(email=""), warehouse, [(product, 2)], by=staff_user)
    give_stock(product, warehouse, 2, by=staff_user)
    plan = propose(warehouse, [product])
    with django_capture_on_commit_callbacks(execute=True):
        result = confirm(plan, decisions_of(plan), by=staff_user)
    assert [o.pk for o in result.ready_orders] == [order.pk]
    assert mailoutbox == []


def test_release_survives_a_mail_server_failure(
    staff_user, queue, product, warehouse, django_capture_on_commit_callbacks, mailoutbox
):
    give_stock(product, warehouse, 3, by=staff_user)
    plan = propose(warehouse, [product])
    with (
        mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            side_effect=smtplib.SMTPServerDisconnected("mail server down"),
        ) as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = confirm(plan, decisions_of(plan), by=staff_user)
    assert send.called
    assert mailoutbox == []
    assert Release.objects.filter(pk=result.release.pk).exists()
    queue["high-5"].refresh_from_db()
    assert queue["high-5"].status == SalesOrderStatus.READY
    assert line_of(queue["high-5"], product).quantity_allocated == 3
    invariants_check()


def stale_by_new_order(staff_user, queue, product, warehouse):
    place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)


def stale_by_cancel(staff_user, queue, product, warehouse):
    order_cancel(order_id=queue["normal-1b"].pk, reason="Gone", by=staff_user)


def stale_by_adjustment(staff_user, queue, product, warehouse):
    level = level_for(product, warehouse)
    stock_adjust(level_id=level.pk, delta=-1, reason="Broken", by=staff_user)


def stale_by_another_release(staff_user, queue, product, warehouse):
    other = propose(warehouse, [product])
    confirm(other, decisions_of(other), by=staff_user)


@pytest.mark.parametrize(
    "change",
    [stale_by_new_order, stale_by_cancel, stale_by_adjustment, stale_by_another_release],
    ids=["order-placed", "order-cancelled", "stock-adjusted", "other-release"],
)
def test_release_confirm_refuses_a_stale_plan_and_applies_nothing(
    staff_user, queue, product, warehouse, change
):
    give_stock(product, warehouse, 9, by=staff_user)
    plan = propose(warehouse, [product])
    change(staff_user, queue, product, warehouse)
    before = table_counts()
    snapshot = stock_snapshot()

    with pytest.raises(StalePlanError) as excinfo:
        confirm(plan, decisions_of(plan), by=staff_user)

    assert error_codes(excinfo) == {"stale_plan"}
    assert isinstance(excinfo.value, ValidationError)
    assert table_counts() == before
    assert stock_snapshot() == snapshot
    # The fresh proposal can be confirmed.
    fresh = propose(warehouse, [product])
    assert fresh.fingerprint != plan.fingerprint
    if fresh.has_work:
        confirm(fresh, decisions_of(fresh), by=staff_user)
    invariants_check()


def test_release_confirm_is_not_stale_after_a_shipment_of_allocated_stock(
    staff_user, queue, product, warehouse
):
    """Shipping takes on_hand and allocated down together: free stock and the queue stay."""
    give_stock(product, warehouse, 3, by=staff_user)
    first = propose(warehouse, [product])
    confirm(first, decisions_of(first), by=staff_user)  # high-5 gets its 3 and is ready
    give_stock(product, warehouse, 4, by=staff_user)
    plan = propose(warehouse, [product])

    order_ship(order_id=queue["high-5"].pk, by=staff_user)
    confirm(plan, decisions_of(plan), by=staff_user)

    assert line_of(queue["normal-0"], product).quantity_allocated == 4
    level = level_for(product, warehouse)
    assert (level.on_hand, level.allocated) == (4, 4)
    invariants_check()


def rejected(staff_user, plan, decisions, code, **kwargs):
    before = table_counts()
    snapshot = stock_snapshot()
    with pytest.raises(ValidationError) as excinfo:
        confirm(plan, decisions, by=staff_user, **kwargs)
    assert error_codes(excinfo) == {code}
    assert not isinstance(excinfo.value, StalePlanError)
    assert table_counts() == before
    assert stock_snapshot() == snapshot


def test_release_confirm_refuses_more_than_a_line_waits_for(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 20, by=staff_user)
    plan = propose(warehouse, [product])
    first = line_of(queue["high-5"], product)
    rejected(staff_user, plan, [ReleaseDecision(line_id=first.pk, quantity=4)], "over_waiting")


def test_release_confirm_refuses_giving_out_more_than_is_free(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    high, normal = lines_in_order(queue, product, ["high-5", "normal-0"])
    rejected(
        staff_user,
        plan,
        [
            ReleaseDecision(line_id=high.pk, quantity=3),
            ReleaseDecision(line_id=normal.pk, quantity=3),
        ],
        "over_available",
    )


def test_release_confirm_refuses_unknown_lines(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    other = ProductFactory()
    other_product_line = line_of(
        place(CustomerFactory(), warehouse, [(other, 2)], by=staff_user), other
    )
    for line_id in (999_999, other_product_line.pk):
        rejected(staff_user, plan, [ReleaseDecision(line_id=line_id, quantity=1)], "unknown_line")


def test_release_confirm_refuses_a_line_that_no_longer_waits(staff_user, product, warehouse):
    order = place(CustomerFactory(), warehouse, [(product, 2)], by=staff_user)
    give_stock(product, warehouse, 2, by=staff_user)
    plan = propose(warehouse, [product])
    line = line_of(order, product)
    confirm(plan, decisions_of(plan), by=staff_user)
    fresh = propose(warehouse, [product])
    rejected(staff_user, fresh, [ReleaseDecision(line_id=line.pk, quantity=1)], "unknown_line")


def test_release_confirm_refuses_an_all_zero_release(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    zeros = [ReleaseDecision(line_id=d.line_id, quantity=0) for d in decisions_of(plan)]
    rejected(staff_user, plan, zeros, "nothing_to_release")
    rejected(staff_user, plan, [], "nothing_to_release")


def test_release_confirm_refuses_a_line_moved_ahead_without_a_reason(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    high, low = lines_in_order(queue, product, ["high-5", "low-old"])
    rejected(
        staff_user,
        plan,
        [ReleaseDecision(line_id=low.pk, quantity=2), ReleaseDecision(line_id=high.pk, quantity=3)],
        "reason_required",
    )


@pytest.mark.parametrize(
    ("quantity", "code"),
    [(-1, "negative"), ("1.5", "fractional"), ("some", "not_a_number"), (10**9 + 1, "too_large")],
)
def test_release_confirm_rejects_bad_quantities(
    staff_user, queue, product, warehouse, quantity, code
):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    high = line_of(queue["high-5"], product)
    rejected(staff_user, plan, [{"line_id": high.pk, "quantity": quantity}], code)


def test_release_confirm_rejects_a_line_listed_twice(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    high = line_of(queue["high-5"], product)
    rejected(
        staff_user,
        plan,
        [
            ReleaseDecision(line_id=high.pk, quantity=1),
            ReleaseDecision(line_id=high.pk, quantity=1),
        ],
        "duplicate_line",
    )


def test_release_confirm_rejects_a_shipment_from_another_warehouse(
    staff_user, manager_user, queue, product, warehouse
):
    elsewhere = WarehouseFactory(code="EAST")
    po = sent_po(SupplierFactory(), elsewhere, [(product, 5)], by=manager_user)
    received = shipment_receive(
        purchase_order_id=po.pk,
        quantities={PurchaseOrderLine.objects.get(purchase_order=po).pk: 5},
        idempotency_key="k-1",
        by=staff_user,
    )
    give_stock(product, warehouse, 5, by=staff_user)
    plan = propose(warehouse, [product])
    rejected(
        staff_user, plan, decisions_of(plan), "unknown_shipment", shipment_id=received.shipment.pk
    )


def test_release_confirm_with_a_product_id_beyond_the_integer_range_applies_nothing(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 3, by=staff_user)
    plan = propose(warehouse, [product])
    before = table_counts()
    with pytest.raises(ValidationError) as excinfo:
        confirm(plan, decisions_of(plan), by=staff_user, products=[product.pk, 10**20])
    assert error_codes(excinfo) == {"unknown_product"}
    assert table_counts() == before


def test_release_confirm_allows_skipping_and_giving_less(staff_user, queue, product, warehouse):
    give_stock(product, warehouse, 9, by=staff_user)
    plan = propose(warehouse, [product])
    high, normal0, normal1a, _skipped, low = lines_in_order(queue, product)
    result = confirm(
        plan,
        [
            ReleaseDecision(line_id=high.pk, quantity=0),  # skipped: customer asked to wait
            ReleaseDecision(line_id=normal0.pk, quantity=2),  # less than the 4 waiting
            ReleaseDecision(line_id=normal1a.pk, quantity=5),
            ReleaseDecision(line_id=low.pk, quantity=1),
        ],
        by=staff_user,
    )
    assert result.units == 8
    assert [line_of(queue[n], product).quantity_allocated for n in RELEASE_ORDER] == [0, 2, 5, 0, 1]
    assert [o.pk for o in result.ready_orders] == [queue["normal-1a"].pk]
    assert level_for(product, warehouse).allocated == 8
    invariants_check()


def test_release_confirm_applies_a_moved_up_line_with_its_reason(
    staff_user, queue, product, warehouse
):
    give_stock(product, warehouse, 8, by=staff_user)
    low = line_of(queue["low-old"], product)
    plan = propose(warehouse, [product], moved_up={low.pk: "Hospital, out of stock"})
    confirm(plan, decisions_of(plan), by=staff_user)
    allocated = [line_of(queue[n], product).quantity_allocated for n in RELEASE_ORDER]
    assert allocated == [2, 0, 0, 0, 6]
    row = Allocation.objects.get(line=low)
    assert row.reason == "Moved up: Hospital, out of stock"
    invariants_check()


def test_release_confirm_over_several_products_at_once(staff_user, warehouse):
    products = [ProductFactory() for _ in range(3)]
    orders = [
        place(CustomerFactory(), warehouse, [(p, 2) for p in products], by=staff_user)
        for _ in range(2)
    ]
    for p in products:
        give_stock(p, warehouse, 3, by=staff_user)
    plan = propose(warehouse, products)
    result = confirm(plan, decisions_of(plan), by=staff_user)
    assert result.units == 9
    assert [o.pk for o in result.ready_orders] == [orders[0].pk]
    for p in products:
        assert [line_of(o, p).quantity_allocated for o in orders] == [2, 1]
    invariants_check()
