"""The release and order placement send a fixed number of statements, whatever their size.

A release to twenty thousand lines must cost no more statements than one to ten (set-based reads
and writes), and an order of fifty lines no more than one of a single line. These tests pin the
exact counts on small data, on SQLite and on PostgreSQL alike: the set-based helpers pass each
column as one parameter (an array for `unnest`, a JSON array for `json_each`), so neither
database splits a statement into batches. The counts include the SAVEPOINT / RELEASE SAVEPOINT
pair that a durable write transaction becomes inside the test's own transaction; the customer
notification queued after commit is not run here (it is the task queue's business).
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Allocation, OrderLine, SalesOrderStatus
from orders.services import ReleaseDecision, release_confirm, release_propose
from tests.factories import CustomerFactory, ProductFactory
from tests.helpers import give_stock, invariants_check, place
from tests.test_query_counts import ORDER_PLACE_QUERIES

# release_propose, whatever the number of products and lines:
#  1. SELECT the warehouse
#  2. SELECT the products' stock levels with their products
#  3. SELECT the waiting lines with their order and customer, in queue order (all products)
PROPOSE_QUERIES = 3

# release_confirm, whatever the number of products, lines and orders:
#  1. SAVEPOINT (the durable transaction)
#  2. SELECT the warehouse
#  3. SELECT … FOR NO KEY UPDATE the products' stock levels, in primary-key order
#  4. SELECT the waiting lines in queue order (ids and backorders only)
#  5. INSERT the release
#  6. INSERT the allocation history: one INSERT … SELECT over unnest / json_each
#  7. UPDATE the lines' allocated: one UPDATE … FROM unnest / json_each
#  8. UPDATE the levels' allocated and backordered (summed per level first)
#  9. SELECT … FOR NO KEY UPDATE the touched orders, in primary-key order
# 10. UPDATE … RETURNING: those of them none of whose lines waits any more become ready
# 11. RELEASE SAVEPOINT
CONFIRM_QUERIES = 11

# order_place's statements are itemised once, beside ORDER_PLACE_QUERIES.
PLACE_QUERIES = ORDER_PLACE_QUERIES


def waiting_queue(*, lines: int, products: int, warehouse, by) -> tuple[list, int]:
    """`lines` waiting lines over `products` products, on orders of up to two lines, then stock
    for all of them (so the release can give everyone everything)."""
    items = [ProductFactory() for _ in range(products)]
    start = timezone.now() - dt.timedelta(days=1)
    slots = [items[n % products] for n in range(lines)]
    n = 0
    while slots:
        take = [slots.pop()]
        if slots and slots[-1] not in take:
            take.append(slots.pop())
        place(
            CustomerFactory(),
            warehouse,
            [(item, 2) for item in take],
            by=by,
            placed_at=start + dt.timedelta(seconds=n),
        )
        n += 1
    for item in items:
        give_stock(item, warehouse, 2 * lines, by=by)
    return items, n


def captured(func) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return [query["sql"] for query in queries.captured_queries], result


def release_statements(warehouse, items, by) -> tuple[list[str], list[str], object]:
    propose_sql, plan = captured(
        lambda: release_propose(warehouse_id=warehouse.pk, product_ids=[p.pk for p in items])
    )
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
        for entry in plan.products
        for line in entry.lines
    ]
    confirm_sql, result = captured(
        lambda: release_confirm(
            warehouse_id=warehouse.pk,
            product_ids=plan.product_ids,
            fingerprint=plan.fingerprint,
            decisions=decisions,
            by=by,
        )
    )
    return propose_sql, confirm_sql, result


def writes_to(statements: list[str], verb: str, table: str) -> int:
    pattern = re.compile(rf'^\s*{verb}\s+(INTO\s+)?"?{table}"?\b', re.IGNORECASE)
    return sum(1 for sql in statements if pattern.search(sql))


@pytest.mark.parametrize(("lines", "products"), [(10, 1), (200, 20)])
def test_release_statements_do_not_grow_with_lines_or_products(
    staff_user, warehouse, lines, products
):
    items, orders = waiting_queue(
        lines=lines, products=products, warehouse=warehouse, by=staff_user
    )

    propose_sql, confirm_sql, result = release_statements(warehouse, items, staff_user)

    assert len(propose_sql) == PROPOSE_QUERIES
    assert len(confirm_sql) == CONFIRM_QUERIES
    # One statement per table written, however many rows it writes.
    assert writes_to(confirm_sql, "INSERT", "orders_allocation") == 1
    assert writes_to(confirm_sql, "UPDATE", "orders_orderline") == 1
    assert writes_to(confirm_sql, "UPDATE", "inventory_stocklevel") == 1
    assert writes_to(confirm_sql, "UPDATE", "orders_salesorder") == 1
    # And the writes did what the release says.
    assert result.units == 2 * lines
    assert Allocation.objects.filter(release=result.release).count() == lines
    assert not OrderLine.objects.filter(product__in=items, quantity_backordered__gt=0).exists()
    assert len(result.ready_order_ids) == orders
    assert set(result.release.allocations.values_list("line__order__status", flat=True)) == {
        SalesOrderStatus.READY
    }
    invariants_check()


def test_release_to_200_lines_costs_what_a_release_to_10_does(staff_user, warehouse):
    small, _ = waiting_queue(lines=10, products=1, warehouse=warehouse, by=staff_user)
    large, _ = waiting_queue(lines=200, products=20, warehouse=warehouse, by=staff_user)

    small_propose, small_confirm, _ = release_statements(warehouse, small, staff_user)
    large_propose, large_confirm, _ = release_statements(warehouse, large, staff_user)

    assert (len(small_propose), len(small_confirm)) == (len(large_propose), len(large_confirm))


def test_partial_release_keeps_the_count_and_leaves_orders_waiting(staff_user, warehouse):
    """Stock for only some lines: the orders still waiting are not touched by the status
    update, and the count is the same as for a release that serves everyone."""
    items = [ProductFactory() for _ in range(3)]
    for n in range(12):
        place(CustomerFactory(), warehouse, [(items[n % 3], 2)], by=staff_user)
    for item in items:
        give_stock(item, warehouse, 5, by=staff_user)  # two lines and half of a third

    _, confirm_sql, result = release_statements(warehouse, items, staff_user)

    assert len(confirm_sql) == CONFIRM_QUERIES
    assert result.units == 15
    assert len(result.ready_order_ids) == 6
    assert OrderLine.objects.filter(product__in=items, quantity_backordered__gt=0).count() == 6
    invariants_check()


@pytest.fixture
def fifty_stocked_products(staff_user, warehouse):
    items = [ProductFactory() for _ in range(50)]
    for item in items:
        give_stock(item, warehouse, 10, by=staff_user)
    return items


def test_order_place_of_1_and_50_lines_costs_the_same_and_at_most_12(
    staff_user, warehouse, fifty_stocked_products
):
    customer = CustomerFactory()
    one_sql, one = captured(
        lambda: place(customer, warehouse, [(fifty_stocked_products[0], 1)], by=staff_user)
    )
    fifty_sql, fifty = captured(
        lambda: place(customer, warehouse, [(p, 2) for p in fifty_stocked_products], by=staff_user)
    )

    assert len(one_sql) == len(fifty_sql) == PLACE_QUERIES
    assert len(fifty_sql) <= 12
    assert sum('INSERT INTO "planning_levelplan"' in sql for sql in fifty_sql) == 1
    assert writes_to(fifty_sql, "INSERT", "orders_orderline") == 1
    assert writes_to(fifty_sql, "INSERT", "orders_allocation") == 1
    assert writes_to(fifty_sql, "INSERT", "orders_dailydemand") == 1
    assert one.lines.count() == 1
    assert fifty.lines.count() == 50
    assert fifty.status == SalesOrderStatus.READY
    invariants_check()
