"""Seed a believable demo: three warehouses, ~200 products, ten suppliers, ~40 customers and four
months of purchasing, orders, releases and shipments, ending with live backorder queues.

How it is written (see orders/demo):

- Scale 1 (the default) replays a deterministic plan through the services — stock_count and
  stock_adjust for stock, purchase_order_create/_send/_cancel and shipment_receive for purchasing,
  order_place, release_propose/_confirm, order_ship and order_cancel for orders, safety_stock_set —
  so the ledger, allocations and statuses are the application's own. Timestamps are moved back to
  the plan's times right after each step; orders are placed in time order with their placed_at.
- `--scale N` (N > 1) writes N blocks of that plan (N × the products, suppliers, customers and
  orders) with bulk inserts, because one service call per event would take hours. Each block is
  applied in memory with the services' rules and inserted batch by batch, so memory stays bounded
  and every invariant holds by construction; `check_stock` verifies it, and the tests compare the
  bulk writer with the services on the same plan. `--bulk` uses that writer at scale 1 as well.

The same seed gives the same demo every day (dates are relative to today). If warehouse LON
already exists, the command says so and changes nothing.
"""

import argparse
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from backoffice.demo.base import team_ensure, warehouses_create
from backoffice.demo.bulk import BlockSimulation
from backoffice.demo.catalogue import WAREHOUSES
from backoffice.demo.events import Clock
from backoffice.demo.plan import plan_block
from backoffice.demo.replay import ServiceReplay
from backoffice.demo.rows import Rows
from inventory.models import Product, StockLevel, StockMovement, Warehouse
from orders.models import OrderLine, SalesOrder
from planning.plan import plan_refresh_all
from suppliers.models import PurchaseOrder

FLUSH_ROWS = 20_000  # rows held in memory before a bulk insert


def scale_type(value: str) -> int:
    try:
        scale = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if scale < 1:
        raise argparse.ArgumentTypeError("the scale must be at least 1")
    return scale


class Command(BaseCommand):
    help = (
        "Create demo data: warehouses LON, MAN and BRS, a catalogue with suppliers and terms, "
        "purchase orders in every state and four months of customer orders with live backorder "
        "queues. Deterministic; does nothing if the demo is already there. --scale N multiplies "
        "the data for benchmarks (bulk inserts)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=scale_type,
            default=1,
            help="Multiply products, suppliers, customers and orders by N (default 1).",
        )
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed of the plan (default 7)."
        )
        parser.add_argument(
            "--bulk",
            action="store_true",
            help="Use the bulk writer even at scale 1 (faster; the same data).",
        )

    def handle(self, *args, scale=1, seed=7, bulk=False, **options):
        first_code = WAREHOUSES[0][0]
        if Warehouse.objects.filter(code=first_code).exists():
            self.stdout.write(
                f"Demo data is already present (warehouse {first_code} exists); nothing to do. "
                "Seed an empty database to start again."
            )
            return
        started = timezone.now()
        began = time.monotonic()
        clock = Clock(now=timezone.localtime(started))
        with transaction.atomic():
            warehouses = warehouses_create()
            users = team_ensure()
        self.stdout.write(f"Warehouses {', '.join(warehouses)} and a team of {len(users)}.")
        if scale == 1 and not bulk:
            self._replay(seed=seed, clock=clock, warehouses=warehouses, users=users)
        else:
            self._bulk(scale=scale, seed=seed, clock=clock, warehouses=warehouses, users=users)
        # The reorder plan from everything loaded (terms and demand written in bulk included).
        plan_refresh_all()
        self._summary(time.monotonic() - began)

    def _replay(self, *, seed, clock, warehouses, users):
        plan = plan_block(block=0, seed=seed, clock=clock)
        replay = ServiceReplay(plan, warehouses=warehouses, users=users, started=clock.now)
        replay.setup()
        self.stdout.write(
            f"Catalogue: {len(plan.products)} products, {len(plan.suppliers)} suppliers with "
            f"{len(plan.terms)} supply terms, {len(plan.customers)} customers."
        )
        self.stdout.write(
            f"Replaying {len(plan.events):,} events since {plan.started_at:%d %b %Y} "
            "through the services…"
        )
        shown = 0

        def progress(done: int, total: int) -> None:
            nonlocal shown
            percent = done * 100 // total
            if percent >= shown + 10 or done == total:
                shown = percent - percent % 10
                day = plan.events[done - 1].at
                self.stdout.write(f"  {percent:3d}%  up to {day:%d %b}  ({done:,} events)")

        replay.run(progress)
        replay.finish()

    def _bulk(self, *, scale, seed, clock, warehouses, users):
        self.stdout.write(f"Writing {scale} block(s) with bulk inserts…")
        rows = Rows()
        written = 0
        began = time.monotonic()
        for block in range(scale):
            plan = plan_block(block=block, seed=seed, clock=clock)
            BlockSimulation(plan, rows=rows, warehouses=warehouses, users=users).run()
            if len(rows) >= FLUSH_ROWS or block == scale - 1:
                pending = len(rows)
                rows.flush()
                written += pending
                self.stdout.write(
                    f"  block {block + 1:,}/{scale:,}: {written:,} rows written "
                    f"({time.monotonic() - began:.1f} s)"
                )

    def _summary(self, elapsed: float) -> None:
        orders = dict(
            SalesOrder.objects.values_list("status").annotate(n=Count("pk")).order_by("status")
        )
        pos = dict(
            PurchaseOrder.objects.values_list("status").annotate(n=Count("pk")).order_by("status")
        )
        waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
        self.stdout.write(
            f"{Product.objects.count():,} products, {StockLevel.objects.count():,} stock levels, "
            f"{StockMovement.objects.count():,} ledger movements."
        )
        self.stdout.write(
            "Orders: " + ", ".join(f"{n:,} {status}" for status, n in sorted(orders.items()))
        )
        self.stdout.write(
            "Purchase orders: " + ", ".join(f"{n:,} {status}" for status, n in sorted(pos.items()))
        )
        self.stdout.write(
            f"Backorder queues: {waiting.count():,} waiting lines over "
            f"{waiting.values('product').distinct().count():,} products."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {elapsed:.1f} s. `manage.py check_stock` verifies it."
            )
        )
