"""orders.selectors: the backorder queue and its age buckets, ETAs for waiting lines, demand
history, an order's allocations, the products pages name, and a release's allocations; and
inventory's backorders_waiting, whose counters the orders services keep."""

import datetime as dt

from django.utils import timezone

from inventory.selectors import backorders_waiting
from orders.models import Priority
from orders.selectors import (
    backorder_age_totals,
    backorder_lines,
    backorder_queue,
    backorder_queues,
    backordered_by_product,
    demand_history,
    line_etas,
    order_allocations,
    products_by_sku,
    products_matching,
    queue_position,
    release_allocation_values,
    release_allocations,
)
from orders.services import (
    ReleaseDecision,
    order_cancel,
    order_line_cancel,
    order_ship,
    release_confirm,
    release_propose,
)
from suppliers.models import PurchaseOrderLine
from suppliers.services import purchase_order_cancel, shipment_receive
from tests.factories import CustomerFactory, ProductFactory, WarehouseFactory
from tests.helpers import give_stock, line_of, place, sent_po, today

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def waiting_order(product, warehouse, quantity, *, by, hours=0, priority=Priority.NORMAL):
    return place(
        CustomerFactory(),
        warehouse,
        [(product, quantity)],
        by=by,
        priority=priority,
        placed_at=at(hours),
    )


# --- queues ------------------------------------------------------------------------------------


def test_backorder_queue_is_priority_then_placed_time_then_id(staff_user, product, warehouse):
    normal_early = waiting_order(product, warehouse, 1, by=staff_user, hours=0)
    urgent_late = waiting_order(
        product, warehouse, 1, by=staff_user, hours=9, priority=Priority.URGENT
    )
    low_oldest = waiting_order(
        product, warehouse, 1, by=staff_user, hours=-50, priority=Priority.LOW
    )
    normal_same_a = waiting_order(product, warehouse, 1, by=staff_user, hours=2)
    normal_same_b = waiting_order(product, warehouse, 1, by=staff_user, hours=2)
    high = waiting_order(product, warehouse, 1, by=staff_user, hours=5, priority=Priority.HIGH)
    waiting_order(ProductFactory(), warehouse, 1, by=staff_user)  # another product
    waiting_order(product, WarehouseFactory(code="EAST"), 1, by=staff_user)  # another warehouse

    expected = [urgent_late, high, normal_early, normal_same_a, normal_same_b, low_oldest]
    queue = list(backorder_queue(product_id=product.pk, warehouse_id=warehouse.pk))
    assert [line.order_id for line in queue] == [o.pk for o in expected]
    queues = backorder_queues(warehouse_id=warehouse.pk, product_ids=[product.pk])
    assert [line.order_id for line in queues[product.pk]] == [o.pk for o in expected]


def test_queue_position_numbers_each_product_and_warehouse_queue_in_release_order(
    staff_user, product, warehouse
):
    east = WarehouseFactory(code="EAST")
    gadget = ProductFactory()
    customer = CustomerFactory()
    normal = waiting_order(product, warehouse, 2, by=staff_user, hours=0)
    same_time = place(
        customer, warehouse, [(product, 1), (gadget, 1)], by=staff_user, placed_at=at(0)
    )
    high = waiting_order(product, warehouse, 1, by=staff_user, hours=8, priority=Priority.HIGH)
    east_order = waiting_order(product, east, 1, by=staff_user, hours=-5)
    give_stock(product, warehouse, 1, by=staff_user)  # free but not released: positions stay

    positions = {
        (line.order_id, line.product_id): line.position
        for line in backorder_lines().annotate(position=queue_position())
    }
    assert positions == {
        (high.pk, product.pk): 1,
        (normal.pk, product.pk): 2,
        (same_time.pk, product.pk): 3,
        (same_time.pk, gadget.pk): 1,
        (east_order.pk, product.pk): 1,
    }
    # Counted over the whole queue, not just the rows a filter keeps.
    mine = backorder_lines(customer_id=customer.pk, product_id=product.pk)
    assert [line.position for line in mine.annotate(position=queue_position())] == [3]


def test_backorder_queue_leaves_out_allocated_shipped_and_cancelled_lines(
    staff_user, product, warehouse
):
    give_stock(product, warehouse, 3, by=staff_user)
    covered = waiting_order(product, warehouse, 3, by=staff_user)
    cancelled = waiting_order(product, warehouse, 2, by=staff_user)
    order_cancel(order_id=cancelled.pk, reason="Gone", by=staff_user)
    partly = waiting_order(product, warehouse, 4, by=staff_user)
    order_ship(order_id=covered.pk, by=staff_user)
    queue = list(backorder_queue(product_id=product.pk, warehouse_id=warehouse.pk))
    assert [line.order_id for line in queue] == [partly.pk]
    assert queue[0].quantity_backordered == 4


def test_backordered_by_product_sums_waiting_units_per_product(staff_user, product, warehouse):
    gadget = ProductFactory()
    give_stock(product, warehouse, 2, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 5), (gadget, 1)], by=staff_user)
    order = place(CustomerFactory(), warehouse, [(product, 4)], by=staff_user)
    order_line_cancel(line_id=line_of(order, product).pk, reason="Gone", by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)
    place(CustomerFactory(), WarehouseFactory(code="EAST"), [(product, 50)], by=staff_user)
    assert backordered_by_product(
        warehouse_id=warehouse.pk, product_ids=[product.pk, gadget.pk]
    ) == {
        product.pk: 3 + 6,
        gadget.pk: 1,
    }


def test_backorder_lines_groups_by_product_and_warehouse_and_filters(staff_user, warehouse):
    east = WarehouseFactory(code="EAST")
    bolt, axle = ProductFactory(sku="BOLT"), ProductFactory(sku="AXLE")
    customer = CustomerFactory()
    b_main = place(customer, warehouse, [(bolt, 1)], by=staff_user, placed_at=at(0))
    a_main_low = place(
        CustomerFactory(),
        warehouse,
        [(axle, 1)],
        by=staff_user,
        priority=Priority.LOW,
        placed_at=at(-9),
    )
    a_main = place(CustomerFactory(), warehouse, [(axle, 1)], by=staff_user, placed_at=at(1))
    a_east = place(customer, east, [(axle, 1)], by=staff_user, placed_at=at(0))

    rows = list(backorder_lines())
    assert [line.order_id for line in rows] == [a_east.pk, a_main.pk, a_main_low.pk, b_main.pk]
    assert [
        line.order_id for line in backorder_lines(warehouse_id=warehouse.pk, product_id=axle.pk)
    ] == [
        a_main.pk,
        a_main_low.pk,
    ]
    assert {line.order_id for line in backorder_lines(customer_id=customer.pk)} == {
        b_main.pk,
        a_east.pk,
    }


# --- line_etas ---------------------------------------------------------------------------------


def etas_for(orders, product):
    lines = list(backorder_lines(product_id=product.pk))
    etas = line_etas(lines=lines, today=timezone.localdate())
    return [etas[line_of(order, product).pk] for order in orders]


def test_eta_is_now_when_free_stock_is_on_the_shelf(staff_user, product, warehouse):
    give_stock(product, warehouse, 5, by=staff_user)
    first = waiting_order(product, warehouse, 5, by=staff_user, hours=0)
    waiting = waiting_order(product, warehouse, 3, by=staff_user, hours=1)
    order_cancel(order_id=first.pk, reason="Gone", by=staff_user)  # 5 free, 3 waiting
    (eta,) = etas_for([waiting], product)
    assert (eta.state, eta.date) == ("now", None)
    assert eta.label == "In stock – awaiting release"


def test_eta_is_the_expected_date_of_the_covering_purchase_order(
    staff_user, manager_user, supplier, product, warehouse
):
    waiting = waiting_order(product, warehouse, 3, by=staff_user)
    due = today() + dt.timedelta(days=4)
    po = sent_po(supplier, warehouse, [(product, 10)], by=manager_user, expected_date=due)
    (eta,) = etas_for([waiting], product)
    assert (eta.state, eta.date, eta.reference) == ("expected", due, po.number)
    assert eta.label == f"{due:%d %b %Y}"


def test_eta_is_overdue_when_the_covering_po_date_has_passed(
    staff_user, manager_user, supplier, product, warehouse
):
    waiting = waiting_order(product, warehouse, 3, by=staff_user)
    was_due = today() - dt.timedelta(days=2)
    sent_po(supplier, warehouse, [(product, 3)], by=manager_user, expected_date=was_due)
    (eta,) = etas_for([waiting], product)
    assert (eta.state, eta.date) == ("overdue", was_due)
    assert eta.label.startswith("Overdue (was due ")


def test_eta_is_none_without_covering_supply(
    staff_user, manager_user, supplier, product, warehouse
):
    waiting = waiting_order(product, warehouse, 5, by=staff_user)
    sent_po(supplier, warehouse, [(product, 4)], by=manager_user)  # not enough
    cancelled_po = sent_po(supplier, warehouse, [(product, 9)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled_po.pk, reason="Dup", by=manager_user)
    sent_po(supplier, WarehouseFactory(code="EAST"), [(product, 9)], by=manager_user)
    (eta,) = etas_for([waiting], product)
    assert eta.state == "none"
    assert eta.date is None
    assert eta.label == "No supply ordered"


def test_eta_walks_cumulative_quantities_across_lines_and_purchase_orders(
    staff_user, manager_user, supplier, product, warehouse
):
    give_stock(product, warehouse, 2, by=staff_user)
    blocker = waiting_order(product, warehouse, 2, by=staff_user, hours=-10)
    lines = [waiting_order(product, warehouse, 4, by=staff_user, hours=h) for h in range(4)]
    order_cancel(order_id=blocker.pk, reason="Gone", by=staff_user)  # 2 free now
    soon = today() + dt.timedelta(days=5)
    later = today() + dt.timedelta(days=10)
    # Created out of date order on purpose: the walk goes by expected date.
    po_later = sent_po(supplier, warehouse, [(product, 5)], by=manager_user, expected_date=later)
    po_soon = sent_po(supplier, warehouse, [(product, 6)], by=manager_user, expected_date=soon)
    received = PurchaseOrderLine.objects.get(purchase_order=po_soon)
    shipment_receive(  # 3 of the soon PO already arrived: 5 free now, 3 still due soon
        purchase_order_id=po_soon.pk,
        quantities={received.pk: 3},
        idempotency_key="k",
        by=staff_user,
    )

    etas = etas_for(lines, product)
    # Needs 4, 8, 12, 16 against now 5, soon +3 = 8, later +5 = 13.
    assert [(e.state, e.date) for e in etas] == [
        ("now", None),
        ("expected", soon),
        ("expected", later),
        ("none", None),
    ]
    assert etas[1].reference == po_soon.number
    assert etas[2].reference == po_later.number


def test_eta_follows_release_order_not_placement_order(
    staff_user, manager_user, supplier, product, warehouse
):
    first = waiting_order(product, warehouse, 3, by=staff_user, hours=0)
    urgent = waiting_order(product, warehouse, 3, by=staff_user, hours=5, priority=Priority.URGENT)
    soon = today() + dt.timedelta(days=3)
    sent_po(supplier, warehouse, [(product, 3)], by=manager_user, expected_date=soon)
    eta_first, eta_urgent = etas_for([first, urgent], product)
    assert (eta_urgent.state, eta_urgent.date) == ("expected", soon)
    assert eta_first.state == "none"


def test_eta_computes_each_product_and_warehouse_separately(
    staff_user, manager_user, supplier, product, warehouse
):
    east = WarehouseFactory(code="EAST")
    gadget = ProductFactory()
    main_line = waiting_order(product, warehouse, 3, by=staff_user)
    east_line = waiting_order(product, east, 3, by=staff_user)
    gadget_line = waiting_order(gadget, warehouse, 3, by=staff_user)
    due = today() + dt.timedelta(days=2)
    sent_po(supplier, east, [(product, 3)], by=manager_user, expected_date=due)
    sent_po(supplier, warehouse, [(gadget, 3)], by=manager_user, expected_date=due)
    lines = list(backorder_lines())
    etas = line_etas(lines=lines, today=today())
    assert etas[line_of(main_line, product).pk].state == "none"
    assert etas[line_of(east_line, product).pk].state == "expected"
    assert etas[line_of(gadget_line, gadget).pk].state == "expected"


def test_line_etas_of_no_lines_is_empty(db):
    assert line_etas(lines=[]) == {}


# --- demand history ----------------------------------------------------------------------------


def placed_on(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def test_demand_history_is_zero_filled_per_day(staff_user, product, warehouse):
    end = dt.date(2026, 4, 10)
    for day, hour, quantity in ((8, 9, 3), (8, 17, 2), (10, 23, 4), (6, 12, 1), (3, 12, 50)):
        place(
            CustomerFactory(),
            warehouse,
            [(product, quantity)],
            by=staff_user,
            placed_at=placed_on(dt.date(2026, 4, day), hour),
        )
    place(  # another warehouse is other demand
        CustomerFactory(),
        WarehouseFactory(code="EAST"),
        [(product, 7)],
        by=staff_user,
        placed_at=placed_on(dt.date(2026, 4, 9)),
    )
    history = demand_history(product_id=product.pk, warehouse_id=warehouse.pk, days=5, end=end)
    assert history == [
        (dt.date(2026, 4, 6), 1),
        (dt.date(2026, 4, 7), 0),
        (dt.date(2026, 4, 8), 5),
        (dt.date(2026, 4, 9), 0),
        (dt.date(2026, 4, 10), 4),
    ]


def test_demand_history_leaves_out_cancelled_quantities(staff_user, product, warehouse):
    day = dt.date(2026, 4, 10)
    give_stock(product, warehouse, 3, by=staff_user)
    partly = place(
        CustomerFactory(), warehouse, [(product, 10)], by=staff_user, placed_at=placed_on(day)
    )
    order_ship(order_id=partly.pk, by=staff_user)  # 3 shipped, 7 waiting
    order_cancel(order_id=partly.pk, reason="Rest not needed", by=staff_user)
    gone = place(
        CustomerFactory(), warehouse, [(product, 6)], by=staff_user, placed_at=placed_on(day)
    )
    order_cancel(order_id=gone.pk, reason="Duplicate", by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 2)], by=staff_user, placed_at=placed_on(day))
    history = demand_history(product_id=product.pk, warehouse_id=warehouse.pk, days=2, end=day)
    assert history == [(dt.date(2026, 4, 9), 0), (day, 3 + 2)]


# --- the backorder list's age buckets -----------------------------------------------------------


def days_ago(days: int) -> dt.datetime:
    return placed_on(timezone.localdate() - dt.timedelta(days=days), hour=0)


def test_backorder_age_totals_count_lines_and_units_per_bucket(staff_user, product, warehouse):
    gadget = ProductFactory()
    east = WarehouseFactory(code="EAST")
    for days, quantity, where in (
        (0, 2, warehouse),
        (7, 3, warehouse),
        (8, 4, east),
        (31, 6, east),
    ):
        place(
            CustomerFactory(), where, [(product, quantity)], by=staff_user, placed_at=days_ago(days)
        )
    place(  # one order, two waiting lines: two lines in its bucket
        CustomerFactory(),
        warehouse,
        [(product, 1), (gadget, 5)],
        by=staff_user,
        placed_at=days_ago(14),
    )
    stocked = ProductFactory()
    give_stock(stocked, warehouse, 9, by=staff_user)
    served = place(CustomerFactory(), warehouse, [(stocked, 9)], by=staff_user)  # waits for nothing
    assert served.lines.get().quantity_backordered == 0

    assert backorder_age_totals(lines=backorder_lines()) == {
        "lines_0-7": 2,
        "units_0-7": 5,
        "lines_8-14": 3,
        "units_8-14": 10,
        "lines_15-30": 0,
        "units_15-30": 0,
        "lines_31+": 1,
        "units_31+": 6,
    }
    assert backorder_age_totals(lines=backorder_lines(warehouse_id=east.pk)) == {
        "lines_0-7": 0,
        "units_0-7": 0,
        "lines_8-14": 1,
        "units_8-14": 4,
        "lines_15-30": 0,
        "units_15-30": 0,
        "lines_31+": 1,
        "units_31+": 6,
    }


# --- one order ----------------------------------------------------------------------------------


def test_order_allocations_are_the_orders_own_oldest_first_with_what_they_name(
    staff_user, product, warehouse, django_assert_num_queries
):
    give_stock(product, warehouse, 2, by=staff_user)
    order = place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    give_stock(product, warehouse, 3, by=staff_user)
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])
    (line,) = plan.products[0].lines
    release = release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=[product.pk],
        fingerprint=plan.fingerprint,
        decisions=[ReleaseDecision(line_id=line.line_id, quantity=3)],
        by=staff_user,
    ).release
    order_ship(order_id=order.pk, by=staff_user)
    give_stock(product, warehouse, 1, by=staff_user)
    place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)  # another order's

    with django_assert_num_queries(1):
        rows = [
            (
                a.kind,
                a.quantity,
                a.line.product.sku,
                a.release.number if a.release_id else "",
                a.created_by.username,
            )
            for a in order_allocations(order_id=order.pk)
        ]

    assert rows == [
        ("placement", 2, "WIDGET-1", "", "staff-user"),
        ("release", 3, "WIDGET-1", release.number, "staff-user"),
        ("shipment", -5, "WIDGET-1", "", "staff-user"),
    ]


def test_products_matching_finds_active_products_by_sku_start_or_name(db):
    ProductFactory(sku="BOLT-10", name="Hex bolt")
    ProductFactory(sku="ABOLT-1", name="Anchor")  # "bolt" inside the SKU only: not a match
    ProductFactory(sku="NUT-2", name="Nut for a bolt")
    ProductFactory(sku="BOLT-OLD", name="Old bolt", is_active=False)
    ProductFactory(sku="WASHER", name="Washer")

    assert [p.sku for p in products_matching(text="bolt")] == ["BOLT-10", "NUT-2"]
    assert [p.sku for p in products_matching(text="bolt", limit=1)] == ["BOLT-10"]


def test_products_by_sku_lists_only_the_products_asked_for_in_sku_order(db):
    zed, able, _other = ProductFactory(sku="ZED"), ProductFactory(sku="ABLE"), ProductFactory()
    assert [p.sku for p in products_by_sku(product_ids=[zed.pk, able.pk])] == ["ABLE", "ZED"]
    assert list(products_by_sku(product_ids=[])) == []


# --- one release --------------------------------------------------------------------------------


def test_release_allocation_values_are_the_fields_asked_for_in_release_order(
    staff_user, product, warehouse
):
    early = waiting_order(product, warehouse, 2, by=staff_user, hours=0)
    urgent = waiting_order(product, warehouse, 4, by=staff_user, hours=5, priority=Priority.URGENT)
    give_stock(product, warehouse, 5, by=staff_user)
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])
    result = release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=[product.pk],
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for line in plan.products[0].lines
        ],
        by=staff_user,
    )

    values = release_allocation_values(
        allocations=release_allocations(release_id=result.release.pk),
        fields=["line__order_id", "line__product__sku", "quantity", "reason"],
        chunk_size=1,
    )

    assert list(values) == [
        (urgent.pk, "WIDGET-1", 4, "Queue position 1"),
        (early.pk, "WIDGET-1", 1, "Queue position 2"),
    ]


# --- inventory.selectors.backorders_waiting -----------------------------------------------------


def test_backorders_waiting_follows_the_queue_of_the_products_at_the_warehouse(
    staff_user, product, warehouse
):
    gadget, idle = ProductFactory(), ProductFactory()
    east = WarehouseFactory(code="EAST")
    order = place(CustomerFactory(), warehouse, [(product, 3)], by=staff_user)
    place(CustomerFactory(), east, [(gadget, 2)], by=staff_user)

    assert backorders_waiting(warehouse_id=warehouse.pk, product_ids=[idle.pk, product.pk])
    assert not backorders_waiting(warehouse_id=warehouse.pk, product_ids=[gadget.pk, idle.pk])
    assert backorders_waiting(warehouse_id=east.pk, product_ids=[gadget.pk])
    assert not backorders_waiting(warehouse_id=east.pk, product_ids=[product.pk])
    order_cancel(order_id=order.pk, reason="Gone", by=staff_user)
    assert not backorders_waiting(warehouse_id=warehouse.pk, product_ids=[product.pk])
