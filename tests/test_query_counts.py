"""Query counts of the core services and selectors do not grow with the number of rows.

Counts include the SAVEPOINT / RELEASE SAVEPOINT pair that a durable write transaction becomes
inside the test's own transaction (outside tests these are BEGIN / COMMIT, not counted by Django).
"""

import datetime as dt

import pytest
from django.utils import timezone

from inventory.selectors import stock_overview
from orders.models import SalesOrderStatus
from orders.selectors import backorder_lines, line_etas
from orders.services import ReleaseDecision, release_confirm, release_propose
from tests.factories import CustomerFactory, ProductFactory, SupplierFactory, WarehouseFactory
from tests.helpers import count_queries, give_stock, level_for, place, sent_po

# --- order_place -------------------------------------------------------------------------------

# order_place, whatever the number of lines (each line takes free stock):
#  1. SAVEPOINT (the durable transaction)
#  2. SELECT the active customer
#  3. SELECT the active warehouse
#  4. SELECT the ids of the active products among the lines'
#  5. SELECT … FOR NO KEY UPDATE the stock levels, in primary-key order (their stored
#     backordered is what is owed to the queue, rule 3)
#  6. INSERT the order
#  7. INSERT the order lines (one bulk statement)
#  8. INSERT … ON CONFLICT DO UPDATE the lines' daily demand (one statement)
#  9. INSERT … ON CONFLICT DO UPDATE the levels' stored reorder plan (planning's receiver of
#     orders.signals.demand_changed; the trigger copies step 11's counters onto it)
# 10. INSERT the placement allocation history (one bulk statement)
# 11. UPDATE the levels' allocated and backordered (one bulk statement)
# 12. RELEASE SAVEPOINT
ORDER_PLACE_QUERIES = 12


@pytest.fixture
def fifty_stocked_products(staff_user, warehouse):
    products = [ProductFactory() for _ in range(50)]
    for product in products:
        give_stock(product, warehouse, 10, by=staff_user)
    return products


@pytest.mark.parametrize("size", [5, 50])
def test_order_place_query_count_does_not_grow_with_lines(
    staff_user, warehouse, fifty_stocked_products, size, django_assert_num_queries
):
    customer = CustomerFactory()
    lines = [(product, 3) for product in fifty_stocked_products[:size]]
    with django_assert_num_queries(ORDER_PLACE_QUERIES):
        order = place(customer, warehouse, lines, by=staff_user)
    assert order.lines.count() == size
    assert order.status == SalesOrderStatus.READY


def test_order_place_same_count_for_5_and_50_lines(staff_user, warehouse, fifty_stocked_products):
    customer = CustomerFactory()
    small, _ = count_queries(
        lambda: place(
            customer, warehouse, [(p, 1) for p in fifty_stocked_products[:5]], by=staff_user
        )
    )
    large, _ = count_queries(
        lambda: place(customer, warehouse, [(p, 1) for p in fifty_stocked_products], by=staff_user)
    )
    assert small == large
    assert large <= ORDER_PLACE_QUERIES


# The first order for products never stocked at the warehouse also creates their levels: one bulk
# INSERT … ON CONFLICT DO NOTHING and the locking SELECT again (2 more), still one of each.
@pytest.mark.parametrize("size", [5, 50])
def test_order_place_creating_levels_is_still_constant(
    staff_user, warehouse, size, django_assert_num_queries
):
    products = [ProductFactory() for _ in range(size)]
    customer = CustomerFactory()
    with django_assert_num_queries(ORDER_PLACE_QUERIES - 1 + 2):
        order = place(customer, warehouse, [(p, 1) for p in products], by=staff_user)
    # Nothing to allocate: no history INSERT (−1); the levels' UPDATE still counts the backorder.
    assert order.status == SalesOrderStatus.BACKORDERED
    assert order.lines.count() == size


# --- release_propose + release_confirm ---------------------------------------------------------

# release_propose: SELECT warehouse, SELECT levels with products, SELECT the queues (3).
# release_confirm, then the notification after commit:
#  1. SAVEPOINT
#  2. SELECT the warehouse
#  3. SELECT … FOR NO KEY UPDATE the levels of the products
#  4. SELECT the queues of the products (line, product, order, backorder)
#  5. INSERT the Release
#  6. INSERT the allocation history (one INSERT … SELECT)
#  7. UPDATE the lines' allocated (one UPDATE … FROM)
#  8. UPDATE the levels' allocated and backordered (one UPDATE … FROM)
#  9. SELECT … FOR NO KEY UPDATE the touched orders
# 10. UPDATE … RETURNING: those of them none of whose lines waits any more become ready
# 11. RELEASE SAVEPOINT
# 12. SELECT the ready orders to notify (after commit), then the mail goes out
RELEASE_QUERIES = 3 + 12


def waiting_queue(*, lines: int, products: int, warehouse, by):
    items = [ProductFactory() for _ in range(products)]
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(lines):
        place(
            CustomerFactory(),
            warehouse,
            [(items[n % products], 2)],
            by=by,
            placed_at=start + dt.timedelta(seconds=n),
        )
    for product in items:
        give_stock(product, warehouse, 2 * lines, by=by)
    return items


def propose_and_confirm(warehouse, products, by, capture):
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[p.pk for p in products])
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
        for entry in plan.products
        for line in entry.lines
    ]
    with capture(execute=True):
        return release_confirm(
            warehouse_id=warehouse.pk,
            product_ids=plan.product_ids,
            fingerprint=plan.fingerprint,
            decisions=decisions,
            by=by,
        )


@pytest.mark.parametrize(("lines", "products"), [(10, 2), (200, 20)])
def test_release_query_count_does_not_grow_with_waiting_lines(
    staff_user,
    warehouse,
    lines,
    products,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    items = waiting_queue(lines=lines, products=products, warehouse=warehouse, by=staff_user)
    with django_assert_num_queries(RELEASE_QUERIES):
        result = propose_and_confirm(
            warehouse, items, staff_user, django_capture_on_commit_callbacks
        )
    assert result.units == 2 * lines
    assert len(result.ready_orders) == lines
    assert len(mailoutbox) == lines


# --- selectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [3, 30])
def test_stock_overview_is_one_query(staff_user, manager_user, rows, django_assert_num_queries):
    warehouses = [
        WarehouseFactory(code="MAIN"),
        WarehouseFactory(code="EAST"),
        WarehouseFactory(code="WEST"),
    ]
    supplier = SupplierFactory()
    for n in range(rows):
        product = ProductFactory()
        warehouse = warehouses[n % 3]
        give_stock(product, warehouse, 5, by=staff_user)
        place(CustomerFactory(), warehouse, [(product, 7)], by=staff_user)
        sent_po(supplier, warehouse, [(product, 4)], by=manager_user)
    # One query: levels with product and warehouse joined, the backordered and on-order totals as
    # correlated subqueries, available and projected computed in SQL.
    with django_assert_num_queries(1):
        table = [
            (
                lv.product.sku,
                lv.warehouse.code,
                lv.available_qty,
                lv.backordered,
                lv.on_order,
                lv.projected,
            )
            for lv in stock_overview(has_backorders=True)
        ]
    assert len(table) == rows
    assert {row[2:] for row in table} == {(0, 2, 4, 2)}


@pytest.mark.parametrize(("rows", "products"), [(3, 1), (30, 6)])
def test_line_etas_query_count_is_constant(
    staff_user, manager_user, rows, products, django_assert_num_queries
):
    east = WarehouseFactory(code="EAST")
    main = WarehouseFactory(code="MAIN")
    items = [ProductFactory() for _ in range(products)]
    supplier = SupplierFactory()
    for product in items:
        for warehouse in (main, east):
            level_for(product, warehouse)
            sent_po(supplier, warehouse, [(product, 5)], by=manager_user)
    for n in range(rows):
        place(CustomerFactory(), (main, east)[n % 2], [(items[n % products], 2)], by=staff_user)
    lines = list(backorder_lines())
    assert len(lines) == rows
    # SELECT the queues' waiting lines, SELECT free stock per level, SELECT open supply.
    with django_assert_num_queries(3):
        etas = line_etas(lines=lines)
    assert set(etas) == {line.pk for line in lines}
    assert {eta.state for eta in etas.values()} <= {"expected", "none"}
    assert "expected" in {eta.state for eta in etas.values()}
