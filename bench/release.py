"""Release benchmark: `release_propose` + `release_confirm` of one large shipment, next to a floor.

`measure()` runs inside an already-seeded benchmark database with Django set up. It adds a
scenario of its own, so it never depends on (or disturbs) the seeded queues: fresh products at
the first warehouse, each with its waiting lines (size L: 500 products, 20,000 lines, on orders of
one to three lines), and a purchase order for exactly what they wait for, received through
`shipment_receive`. Then, on that same state:

1. the floor: the same allocation written by hand in one transaction (lock the levels, read the
   queue in release order, bulk-insert the allocations with `unnest`, one set-based UPDATE per
   table, the levels' allocated and backordered counters together), timed several times and
   rolled back each time;
2. the services: `release_propose` for the shipment, then `release_confirm` of the proposal as
   staff would submit it unchanged, timed and with their queries counted (once: it commits).

Afterwards every waiting line of the scenario must be allocated and `check_stock` clean.
PostgreSQL only (the floor is PostgreSQL SQL).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

PRODUCTS = {"L": 500, "S": 50, "XS": 10}
LINES = {"L": 20_000, "S": 2_000, "XS": 200}
FLOOR_REPEATS = 3
# The target: the services within this factor of the hand-written floor.
TARGET_FACTOR = 3.0


@dataclass
class Scenario:
    warehouse_id: int
    product_ids: list[int]
    shipment_id: int
    lines: int
    orders: int
    units: int


class QueryCounter:
    """Counts the statements a block sends, without the debug cursor's cost of logging them."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counted():
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def _scaled(table: dict[str, int], size: str) -> int:
    return table.get(size.upper(), table["S"])


def scenario_build(*, products: int, lines: int, seed: int = 5) -> Scenario:
    """Fresh products with waiting lines at the first warehouse, and a received shipment that
    covers every one of them. Orders and lines are bulk-inserted in the state order_place leaves
    when there is no stock (all backordered, no allocation history); the stock arrives through
    the purchasing services, so the ledger and the receipt history are the real ones."""
    from django.utils import timezone

    from inventory.models import Product, StockLevel, Warehouse
    from orders.models import Customer, OrderLine, Priority, SalesOrder, SalesOrderStatus
    from orders.services.demand import daily_demand_add_lines
    from suppliers.models import Supplier
    from suppliers.services import purchase_order_create, purchase_order_send, shipment_receive

    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8].upper()
    warehouse = Warehouse.objects.filter(is_active=True).order_by("pk").first()
    if warehouse is None:
        raise RuntimeError("The benchmark database has no active warehouse; seed it first.")
    items = Product.objects.bulk_create(
        Product(sku=f"REL-{tag}-{n:04d}", name=f"Release benchmark item {n}")
        for n in range(products)
    )
    StockLevel.objects.bulk_create(
        [StockLevel(product=item, warehouse=warehouse) for item in items], ignore_conflicts=True
    )
    customers = list(Customer.objects.filter(is_active=True).values_list("pk", flat=True)[:2000])
    if not customers:
        customers = [
            c.pk
            for c in Customer.objects.bulk_create(
                Customer(name=f"Release benchmark customer {tag} {n}") for n in range(200)
            )
        ]

    # Each product waits on lines // products lines; orders take one to three products each.
    slots = [item.pk for item in items for _ in range(lines // products)]
    slots += [items[n].pk for n in range(lines - len(slots))]
    rng.shuffle(slots)
    groups: list[list[int]] = []
    while slots:
        size = rng.choice((1, 1, 2, 3))
        group: list[int] = []
        while slots and len(group) < size and slots[-1] not in group:
            group.append(slots.pop())
        groups.append(group)

    now = timezone.now()
    orders = SalesOrder.objects.bulk_create(
        SalesOrder(
            customer_id=rng.choice(customers),
            warehouse=warehouse,
            priority=rng.choices(list(Priority.values), weights=(1, 6, 2, 1))[0],
            status=SalesOrderStatus.BACKORDERED,
            placed_at=now - dt.timedelta(seconds=rng.randrange(1, 60 * 86_400)),
            customer_reference=f"REL-{tag}",
        )
        for _ in groups
    )
    order_lines = [
        OrderLine(order=order, product_id=pid, quantity_ordered=rng.randint(1, 6))
        for order, group in zip(orders, groups, strict=True)
        for pid in group
    ]
    last_line = OrderLine.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    OrderLine.objects.bulk_create(order_lines, batch_size=5000)
    # Their daily demand, as order_place would have counted it.
    daily_demand_add_lines(after_id=last_line)
    wanted: dict[int, int] = {}
    for line in order_lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity_ordered
    # The levels' backordered counters, as order_place would have kept them.
    levels = list(StockLevel.objects.filter(warehouse=warehouse, product_id__in=wanted))
    for level in levels:
        level.backordered = wanted[level.product_id]
    StockLevel.objects.bulk_update(levels, ["backordered"], batch_size=5000)

    supplier = Supplier.objects.create(name=f"Release benchmark supplier {tag}")
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(pid, qty, "1.00") for pid, qty in sorted(wanted.items())],
        by=None,
    )
    purchase_order_send(purchase_order_id=po.pk, by=None)
    received = shipment_receive(
        purchase_order_id=po.pk,
        quantities={line.pk: line.quantity_ordered for line in po.lines.all()},
        idempotency_key=f"bench-release-{tag}",
        by=None,
    )
    tables_tidy()
    return Scenario(
        warehouse_id=warehouse.pk,
        product_ids=sorted(wanted),
        shipment_id=received.shipment.pk,
        lines=len(order_lines),
        orders=len(orders),
        units=sum(wanted.values()),
    )


def tables_tidy() -> None:
    """VACUUM and ANALYZE the tables a release writes, as autovacuum does on a live database.

    Without fresh statistics the planner takes the new queue for a handful of rows, and every
    rolled-back floor run leaves twenty thousand dead row versions that the next writer has to
    step over; tidying before each run gives the floor and the services the same start."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) inventory_stocklevel, orders_salesorder, orders_orderline, "
            "orders_allocation, orders_release"
        )


def floor_run(scenario: Scenario) -> tuple[float, int]:
    """The allocation by hand-written SQL in one transaction, rolled back; (seconds, units)."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, product_id, on_hand - allocated FROM inventory_stocklevel "
            "WHERE warehouse_id = %s AND product_id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [scenario.warehouse_id, scenario.product_ids],
        )
        free = {pid: (level_id, available) for level_id, pid, available in cursor.fetchall()}
        cursor.execute(
            "SELECT l.id, l.product_id, l.order_id, l.quantity_backordered "
            "FROM orders_orderline l JOIN orders_salesorder o ON o.id = l.order_id "
            "WHERE l.quantity_backordered > 0 AND o.warehouse_id = %s AND l.product_id = ANY(%s) "
            "ORDER BY o.priority DESC, o.placed_at, o.id, l.id",
            [scenario.warehouse_id, scenario.product_ids],
        )
        left = {pid: available for pid, (_, available) in free.items()}
        line_ids, quantities, reasons, order_ids = [], [], [], set()
        position: dict[int, int] = {}
        for line_id, pid, order_id, waiting in cursor.fetchall():
            position[pid] = position.get(pid, 0) + 1
            give = min(waiting, left[pid])
            if give:
                left[pid] -= give
                line_ids.append(line_id)
                quantities.append(give)
                reasons.append(f"Queue position {position[pid]}")
                order_ids.add(order_id)
        cursor.execute(
            "INSERT INTO orders_release (warehouse_id, shipment_id, note, created_at) "
            "VALUES (%s, %s, '', now()) RETURNING id",
            [scenario.warehouse_id, scenario.shipment_id],
        )
        (release_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO orders_allocation "
            "(line_id, quantity, reason, kind, release_id, shipment_id, created_at) "
            "SELECT v.line_id, v.quantity, v.reason, 'release', %s, %s, now() "
            "FROM unnest(%s::bigint[], %s::integer[], %s::varchar[]) AS v(line_id, quantity, reason)",
            [release_id, scenario.shipment_id, line_ids, quantities, reasons],
        )
        cursor.execute(
            "UPDATE orders_orderline l SET quantity_allocated = l.quantity_allocated + v.quantity "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, quantity) WHERE l.id = v.id",
            [line_ids, quantities],
        )
        given = {pid: free[pid][1] - left[pid] for pid in free if free[pid][1] != left[pid]}
        cursor.execute(
            "UPDATE inventory_stocklevel s SET allocated = s.allocated + v.quantity, "
            "backordered = s.backordered - v.quantity "
            "FROM unnest(%s::bigint[], %s::integer[]) AS v(id, quantity) WHERE s.id = v.id",
            [[free[pid][0] for pid in given], list(given.values())],
        )
        cursor.execute(
            "SELECT id FROM orders_salesorder WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [sorted(order_ids)],
        )
        cursor.fetchall()
        cursor.execute(
            "UPDATE orders_salesorder o SET status = 'ready' WHERE o.id = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id "
            "AND l.quantity_backordered > 0)",
            [sorted(order_ids)],
        )
        transaction.set_rollback(True)
    return time.perf_counter() - started, sum(quantities)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def measure(size: str = "L") -> dict:
    from django.db import connection

    from backoffice.integrity import stock_discrepancies
    from orders.models import OrderLine
    from orders.services import ReleaseDecision, release_confirm, release_propose

    title = "Release of a large shipment"
    if connection.vendor != "postgresql":
        return {
            "title": title,
            "rows": [],
            "notes": ["Skipped: the release benchmark needs PostgreSQL."],
        }
    products, lines = _scaled(PRODUCTS, size), _scaled(LINES, size)
    built = time.perf_counter()
    scenario = scenario_build(products=products, lines=lines)
    built = time.perf_counter() - built

    # Warm the caches the same way for both: one untimed floor, then the timed ones, each (and
    # the services) starting from tidied tables.
    floor_run(scenario)
    floors = []
    for _ in range(FLOOR_REPEATS):
        tables_tidy()
        seconds, floor_units = floor_run(scenario)
        floors.append(seconds)
    floor = statistics.median(floors)
    tables_tidy()

    with counted() as propose_queries:
        started = time.perf_counter()
        plan = release_propose(
            warehouse_id=scenario.warehouse_id,
            product_ids=scenario.product_ids,
            shipment_id=scenario.shipment_id,
        )
        propose = time.perf_counter() - started
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
        for entry in plan.products
        for line in entry.lines
    ]
    with counted() as confirm_queries:
        started = time.perf_counter()
        result = release_confirm(
            warehouse_id=plan.warehouse_id,
            product_ids=plan.product_ids,
            fingerprint=plan.fingerprint,
            decisions=decisions,
            by=None,
            shipment_id=plan.shipment_id,
        )
        confirm = time.perf_counter() - started
    total = propose + confirm

    still_waiting = OrderLine.objects.filter(
        product_id__in=scenario.product_ids, quantity_backordered__gt=0
    ).count()
    problems = stock_discrepancies()
    ratio = total / floor if floor else float("inf")
    queries = propose_queries.count + confirm_queries.count
    rows = [
        {
            "metric": f"Scenario: {products:,} products, {scenario.lines:,} waiting lines on "
            f"{scenario.orders:,} orders, {scenario.units:,} units",
            "value": f"built in {built:.1f} s",
            "target": "",
            "met": None,
        },
        {
            "metric": f"Hand-written SQL floor (median of {FLOOR_REPEATS}, rolled back)",
            "value": _ms(floor),
            "target": "",
            "met": None,
        },
        {"metric": "release_propose", "value": _ms(propose), "target": "", "met": None},
        {"metric": "release_confirm", "value": _ms(confirm), "target": "", "met": None},
        {
            "metric": "release_propose + release_confirm",
            "value": f"{_ms(total)} ({ratio:.1f}× the floor)",
            "target": f"≤ {TARGET_FACTOR:g}× the floor ({_ms(floor * TARGET_FACTOR)})",
            "met": ratio <= TARGET_FACTOR,
        },
        {
            "metric": "Queries: propose + confirm",
            "value": f"{propose_queries.count} + {confirm_queries.count} = {queries}",
            "target": "constant (pinned by tests/orders/test_query_constants.py)",
            "met": None,
        },
        {
            "metric": "Units released / waiting lines left / check_stock problems",
            "value": f"{result.units:,} / {still_waiting:,} / {len(problems):,}",
            "target": f"{floor_units:,} / 0 / 0",
            "met": result.units == floor_units and not still_waiting and not problems,
        },
    ]
    notes = [
        "The floor runs the same allocation as one transaction of hand-written PostgreSQL: lock "
        "the levels, read the queue in release order, INSERT the allocations and UPDATE lines, "
        "levels and order statuses from unnest() arrays; it is rolled back, so it never pays "
        "for a commit.",
        f"The services run once on the same state and commit; {len(result.ready_order_ids):,} "
        "orders became ready to ship. The confirm time and queries include queuing their "
        "customers' emails as one task on commit (one INSERT); the task worker, which sends "
        "them, is not run here.",
        "Every floor run and the services start from freshly vacuumed and analysed tables, as "
        "autovacuum keeps them on a live database.",
    ]
    if problems:
        notes.append("check_stock: " + "; ".join(str(p) for p in problems[:5]))
    return {"title": title, "rows": rows, "notes": notes}
