"""Order placement benchmark: one 50-line order, then four processes placing orders at once.

`measure()` runs inside an already-seeded benchmark database with Django set up, on products of
its own (so it neither depends on nor disturbs the seeded queues): a pool of fresh products at
the first warehouse, stocked through `stock_adjust`.

1. A 50-line order through `order_place`: its statements (counted) and its time, p50 / p95 over
   repeats. Each order is cancelled straight after (untimed), so every repeat sees the same stock.
2. Four processes, each with its own database connection, place 5-line orders for a fixed time,
   drawing their products from one small shared pool, so they contend for the same stock level
   rows (the locks of DESIGN.md rule 7). Orders per second over all four; any error is counted.
   The pool is stocked for only part of the demand, so later orders backorder and rule 3 is
   exercised too. Afterwards the orders are cancelled and `check_stock` must be clean.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import statistics
import threading
import time
import uuid

ORDER_LINES = 50
REPEATS = {"L": 20, "S": 20, "XS": 3}
PROCESSES = 4
SECONDS = {"L": 20.0, "S": 5.0, "XS": 2.0}
POOL = 40
LINES_PER_CONCURRENT_ORDER = 5
QUERY_TARGET = 12


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def products_stock(*, count: int, quantity: int, tag: str, warehouse_id: int) -> list[int]:
    """Fresh products with `quantity` on the shelf at the warehouse, through the services."""
    from inventory.models import Product, StockLevel
    from inventory.services import stock_adjust

    items = Product.objects.bulk_create(
        Product(sku=f"ORD-{tag}-{n:03d}", name=f"Ordering benchmark item {n}") for n in range(count)
    )
    StockLevel.objects.bulk_create(
        [StockLevel(product=item, warehouse_id=warehouse_id) for item in items],
        ignore_conflicts=True,
    )
    levels = StockLevel.objects.filter(product__in=items, warehouse_id=warehouse_id)
    for level in levels:
        stock_adjust(level_id=level.pk, delta=quantity, reason="Ordering benchmark stock", by=None)
    return [item.pk for item in items]


def _django_ready(database_url: str) -> None:
    from bench.common import django_setup

    django_setup(database_url)


def _worker(
    database_url, number, warehouse_id, customer_id, pool, seconds, barrier, results
) -> None:
    """One of the concurrent processes: its own interpreter, Django and database connection."""
    _django_ready(database_url)
    from django.db import connection

    from orders.services import order_place

    rng = random.Random(number)
    connection.ensure_connection()
    placed, failed, latencies, order_ids, errors = 0, 0, [], [], []
    barrier.wait()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        lines = [(pid, rng.randint(1, 3)) for pid in rng.sample(pool, LINES_PER_CONCURRENT_ORDER)]
        started = time.perf_counter()
        try:
            order = order_place(
                customer_id=customer_id, warehouse_id=warehouse_id, lines=lines, by=None
            )
        except Exception as exc:  # counted and reported: the benchmark must see every failure
            failed += 1
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        latencies.append(time.perf_counter() - started)
        order_ids.append(order.pk)
        placed += 1
    connection.close()
    results.put(
        {
            "placed": placed,
            "failed": failed,
            "latencies": latencies,
            "order_ids": order_ids,
            "errors": errors[:3],
        }
    )


def concurrent_run(*, database_url: str, warehouse_id: int, customer_id: int, pool, seconds):
    """Start the processes, release them together, and collect what each did."""
    from django.db import connections

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES + 1)
    results = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(database_url, n, warehouse_id, customer_id, pool, seconds, barrier, results),
        )
        for n in range(PROCESSES)
    ]
    connections.close_all()
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=120)
        outcomes = [results.get(timeout=seconds + 120) for _ in workers]
    except (threading.BrokenBarrierError, queue.Empty):
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        raise RuntimeError(
            "A placing process did not start or did not finish; see its traceback above."
        ) from None
    finally:
        for worker in workers:
            worker.join(timeout=30)
    return outcomes


def orders_cancel(order_ids) -> None:
    from orders.models import SalesOrder
    from orders.services import order_cancel

    open_ids = SalesOrder.objects.filter(
        pk__in=list(order_ids), status__in=["backordered", "ready"]
    ).values_list("pk", flat=True)
    for order_id in open_ids:
        order_cancel(order_id=order_id, reason="Ordering benchmark clean-up", by=None)


def measure(size: str = "L", database_url: str | None = None) -> dict:
    from django.db import connection

    from backoffice.integrity import stock_discrepancies
    from inventory.models import Warehouse
    from orders.models import Customer
    from orders.services import order_place

    title = "Order placement"
    size = size.upper()
    repeats = REPEATS.get(size, REPEATS["S"])
    seconds = SECONDS.get(size, SECONDS["S"])
    database_url = database_url or os.environ.get("DATABASE_URL", "")
    tag = uuid.uuid4().hex[:8].upper()
    warehouse = Warehouse.objects.filter(is_active=True).order_by("pk").first()
    if warehouse is None:
        raise RuntimeError("The benchmark database has no active warehouse; seed it first.")
    customer = Customer.objects.create(name=f"Ordering benchmark customer {tag}")
    rows, notes = [], []

    # 1. One 50-line order, repeated; each cancelled again before the next.
    single = products_stock(
        count=ORDER_LINES, quantity=10 * (repeats + 1), tag=f"{tag}-A", warehouse_id=warehouse.pk
    )
    lines = [(pid, 2) for pid in single]
    times, counts = [], []
    for attempt in range(repeats + 1):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            order = order_place(
                customer_id=customer.pk, warehouse_id=warehouse.pk, lines=lines, by=None
            )
            elapsed = time.perf_counter() - started
        orders_cancel([order.pk])
        if attempt:  # the first one warms caches and is not counted
            times.append(elapsed)
            counts.append(counter.count)
    queries = max(counts)
    rows.append(
        {
            "metric": f"order_place, {ORDER_LINES} lines: queries",
            "value": f"{queries} (+ BEGIN / COMMIT)",
            "target": f"≤ {QUERY_TARGET}, the same for any number of lines",
            "met": queries <= QUERY_TARGET and len(set(counts)) == 1,
        }
    )
    rows.append(
        {
            "metric": f"order_place, {ORDER_LINES} lines: time p50 / p95 ({repeats} repeats)",
            "value": f"{_ms(statistics.median(times))} / {_ms(_percentile(times, 0.95))}",
            "target": "",
            "met": None,
        }
    )

    # 2. Four processes on one shared pool of products.
    if connection.vendor != "postgresql" or not database_url:
        notes.append("Concurrent placement skipped: it needs PostgreSQL (row locks).")
        return {"title": title, "rows": rows, "notes": notes}
    pool = products_stock(count=POOL, quantity=200, tag=f"{tag}-B", warehouse_id=warehouse.pk)
    outcomes = concurrent_run(
        database_url=database_url,
        warehouse_id=warehouse.pk,
        customer_id=customer.pk,
        pool=pool,
        seconds=seconds,
    )
    placed = sum(o["placed"] for o in outcomes)
    failed = sum(o["failed"] for o in outcomes)
    latencies = [t for o in outcomes for t in o["latencies"]]
    order_ids = [pk for o in outcomes for pk in o["order_ids"]]
    orders_cancel(order_ids)
    problems = stock_discrepancies()
    rows.append(
        {
            "metric": f"{PROCESSES} processes placing {LINES_PER_CONCURRENT_ORDER}-line orders on "
            f"{POOL} shared products for {seconds:g} s",
            "value": f"{placed / seconds:,.1f} orders/s ({placed:,} orders, {failed} failed)",
            "target": "no failures",
            "met": failed == 0 and placed > 0,
        }
    )
    if latencies:
        rows.append(
            {
                "metric": "order_place under contention: time p50 / p95",
                "value": f"{_ms(statistics.median(latencies))} / "
                f"{_ms(_percentile(latencies, 0.95))}",
                "target": "",
                "met": None,
            }
        )
    rows.append(
        {
            "metric": "check_stock after the concurrent run",
            "value": f"{len(problems):,} problems",
            "target": "0",
            "met": not problems,
        }
    )
    notes.append(
        "Each process has its own interpreter and database connection (multiprocessing, spawn). "
        "They start together behind a barrier; the pool's stock covers only part of the demand, "
        "so later orders backorder. The orders are cancelled afterwards (untimed), then "
        "check_stock runs over the whole database."
    )
    errors = [e for o in outcomes for e in o["errors"]]
    if errors:
        notes.append("Failures: " + "; ".join(errors[:3]))
    if problems:
        notes.append("check_stock: " + "; ".join(str(p) for p in problems[:5]))
    return {"title": title, "rows": rows, "notes": notes}
