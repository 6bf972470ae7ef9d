"""Build the plan of one demo block: four months of demand, purchasing and stock keeping.

The story: stock was counted in on day one; customers order every day, a little more each month;
each supplier × warehouse is reviewed every two to three weeks and ordered up to a forecast that is
right for most products and too low for a few, whose customers end up waiting; deliveries are
released to the queue right after they land; a dispatch run ships what is ready each afternoon.
A few purchase orders are fixed so that every state the pages show exists (see `_scenarios`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from dataclasses import replace

from backoffice.demo.catalogue import (
    ADJUSTMENT_REASONS,
    FOUND_REASONS,
    ORDER_CANCEL_REASONS,
    SUPPLIERS,
    WAREHOUSES,
    slug,
)
from backoffice.demo.events import (
    HISTORY_DAYS,
    MANAGER,
    ORDER_DAYS,
    ORDERS_PER_BLOCK,
    SALES_DESK,
    STAFF,
    Adjust,
    Clock,
    CycleCount,
    Dispatch,
    Event,
    LevelKey,
    OpeningCount,
    OrderCancel,
    OrderPlace,
    Plan,
    Release,
    SafetyStock,
    Transfer,
)
from backoffice.demo.purchasing import SupplyPlanner
from backoffice.demo.reference import customers_plan, products_plan, suppliers_plan
from orders.models import Priority

# --- building a plan -------------------------------------------------------------------------------


def _nice(value: float) -> int:
    """Round to what a person would type: units, then fives, then tens."""
    if value <= 10:
        return max(1, round(value))
    if value <= 50:
        return 5 * round(value / 5)
    return 10 * round(value / 10)


class _Planner(SupplyPlanner):
    def __init__(self, *, block: int, seed: int, clock: Clock):
        self.block = block
        self.clock = clock
        self.rng = random.Random(seed * 1_000_003 + block)  # noqa: S311 - repeatable demo data
        self.events: list[tuple[dt.datetime, int, Event]] = []
        self.next_po = 0

    def add(self, event: Event) -> None:
        self.events.append((event.at, len(self.events), event))

    def build(self) -> Plan:
        self.products = products_plan(block=self.block, rng=self.rng)
        self.suppliers, self.terms = suppliers_plan(
            block=self.block, rng=self.rng, products=self.products
        )
        self.customers = customers_plan(block=self.block, rng=self.rng)
        self.lead = {key: lead for key, (_, _, lead, _) in enumerate(SUPPLIERS)}
        self.preferred = {term.product: term for term in self.terms if term.is_preferred}
        self._orders()
        self._stock()
        self._purchasing()
        self._scenarios()
        self._scenario_orders()
        self._adjustments()
        self._dispatch_runs()
        plan = Plan(
            block=self.block,
            products=self.products,
            suppliers=self.suppliers,
            terms=self.terms,
            customers=self.customers,
        )
        for _, _, event in sorted(self.events, key=lambda item: (item[0], item[1])):
            moved = _moved(event, self.clock)
            if moved is not None:
                plan.events.append(moved)
        plan.started_at = plan.events[0].at
        return plan

    # demand

    def _orders(self) -> None:
        rng = self.rng
        codes = [code for code, _ in WAREHOUSES]
        times = sorted(
            self.clock.at(day, hour)
            for day, hour in (
                # A little growth: recent days are busier.
                (-ORDER_DAYS * (1 - rng.random() ** 0.85), rng.uniform(7, 18))
                for _ in range(ORDERS_PER_BLOCK)
            )
        )
        self.demand: dict[LevelKey, list[tuple[dt.datetime, int]]] = defaultdict(list)
        for order, placed in enumerate(times):
            customer = rng.choices(self.customers, weights=[c.weight for c in self.customers])[0]
            warehouse = customer.warehouse if rng.random() < 0.9 else rng.choice(codes)
            priority = rng.choices(
                Priority.values,
                weights=(5, 50, 35, 10) if customer.key_account else (12, 75, 10, 3),
            )[0]
            weights = [
                p.popularity * (4 if p.category in customer.favourites else 1)
                for p in self.products
            ]
            count = rng.choices((1, 2, 3, 4, 5, 6), weights=(30, 25, 20, 12, 8, 5))[0]
            chosen: list[int] = []
            while len(chosen) < count:
                pick = rng.choices(self.products, weights=weights)[0].key
                if pick not in chosen:
                    chosen.append(pick)
            lines = []
            for key in chosen:
                low, high = self.products[key].qty
                quantity = min(high, low + int((high - low + 1) * rng.random() ** 2))
                lines.append((key, quantity))
                self.demand[(key, warehouse)].append((placed, quantity))
            reference = (
                f"{slug(customer.name)[:4].upper()}-{rng.randint(1000, 99999)}"
                if rng.random() < 0.7
                else ""
            )
            self.add(
                OrderPlace(
                    at=placed,
                    by=SALES_DESK,
                    order=order,
                    customer=customer.key,
                    warehouse=warehouse,
                    priority=priority,
                    lines=tuple(lines),
                    reference=reference,
                    ship_after=placed + dt.timedelta(hours=rng.uniform(2, 36)),
                    partial_ok=customer.partial_ok,
                )
            )
            if rng.random() < 0.06:
                cancelled = placed + dt.timedelta(hours=rng.uniform(0.5, 20))
                self.add(
                    OrderCancel(
                        at=cancelled,
                        by=SALES_DESK,
                        order=order,
                        reason=rng.choice(ORDER_CANCEL_REASONS),
                    )
                )
                # Older cancellations were released to the queue; recent ones still wait for it.
                if cancelled < self.clock.midnight - dt.timedelta(days=1):
                    self.add(
                        Release(
                            at=cancelled + dt.timedelta(minutes=20),
                            by=STAFF[warehouse],
                            warehouse=warehouse,
                            cancelled_order=order,
                            note="Stock freed by a cancelled order",
                        )
                    )
        self.demand_times = {level: [at for at, _ in rows] for level, rows in self.demand.items()}
        self.demand_totals = {}
        for level, rows in self.demand.items():
            running, totals = 0, []
            for _, quantity in rows:
                running += quantity
                totals.append(running)
            self.demand_totals[level] = totals

    def demand_before(self, level: LevelKey, when: dt.datetime) -> int:
        times = self.demand_times.get(level)
        if not times:
            return 0
        index = bisect.bisect_left(times, when)
        return self.demand_totals[level][index - 1] if index else 0

    # supply

    def _stock(self) -> None:
        rng = self.rng
        self.start = self.clock.at(-HISTORY_DAYS, 7)
        ranked = sorted(self.products, key=lambda p: p.popularity)
        slow = {p.key for p in ranked[: len(ranked) * 3 // 10]}
        self.rate = {}
        self.opening: dict[LevelKey, int] = {}
        self.forecast: dict[LevelKey, float] = {}
        levels = [(p.key, code) for p in self.products for code, _ in WAREHOUSES]
        for level in levels:
            rows = self.demand.get(level, [])
            self.rate[level] = sum(q for _, q in rows) / ORDER_DAYS
        busy = sorted((lvl for lvl in levels if self.rate[lvl] > 0), key=self.rate.get)
        top = busy[-len(busy) // 8 :]
        self.short = set(rng.sample(top, min(len(top), 20)))
        for index, level in enumerate(levels):
            product = self.products[level[0]]
            rate = self.rate[level]
            stocked = not (level[0] in slow and rng.random() < 0.35)
            if not stocked:
                opening = 0
            elif level in self.short:
                opening = round(rate * rng.uniform(6, 12))
            else:
                opening = round(rate * rng.uniform(30, 55) + product.qty[1] * rng.uniform(1, 3))
            self.opening[level] = opening
            self.forecast[level] = (
                rate * rng.uniform(0.9, 1.2) * (0.4 if level in self.short else 1)
            )
            if opening:
                self.add(
                    OpeningCount(
                        at=self.start + dt.timedelta(seconds=20 * index),
                        by=STAFF[level[1]],
                        level=level,
                        counted=opening,
                    )
                )
        # Safety stock: set on most busy levels early on, raised later where stock ran out.
        values: dict[LevelKey, int] = {}
        for level in levels:
            if self.forecast[level] > 0 and rng.random() < 0.7:
                values[level] = _nice(self.forecast[level] * rng.uniform(4, 9))
        self._safety(
            values, day=-HISTORY_DAYS + 2, reason="Initial safety stock, about a week of demand"
        )
        raised = {
            level: max(value + 1, _nice(value * rng.uniform(1.3, 1.8)))
            for level, value in values.items()
            if level in self.short or rng.random() < 0.15
        }
        self._safety(raised, day=-60, reason="Raised after stock-outs last month")

    def _safety(self, values: dict[LevelKey, int], *, day: int, reason: str) -> None:
        groups: dict[int, list[LevelKey]] = defaultdict(list)
        for level, value in values.items():
            groups[value].append(level)
        for index, (value, levels) in enumerate(sorted(groups.items())):
            self.add(
                SafetyStock(
                    at=self.clock.at(day, 9) + dt.timedelta(seconds=30 * index),
                    by=MANAGER,
                    levels=tuple(levels),
                    value=value,
                    reason=reason,
                )
            )

    def _scenario_orders(self) -> None:
        """An urgent order from a key account two days ago, served first by yesterday's small
        delivery; and new orders for what landed this morning: that stock is owed to the customers
        already waiting (rule 3), so they join the back of the queue rather than taking it."""
        rng = self.rng
        ordinary = [c for c in self.customers if not c.key_account]
        if self.rushed:
            product, warehouse, quantity = self.rushed
            customer = rng.choice([c for c in self.customers if c.key_account] or ordinary)
            placed = self.clock.at(-2, 10)
            self.add(
                OrderPlace(
                    at=placed,
                    by=SALES_DESK,
                    order=ORDERS_PER_BLOCK + len(self.landed_today),
                    customer=customer.key,
                    warehouse=warehouse,
                    priority=Priority.URGENT,
                    lines=((product, quantity),),
                    reference=f"{slug(customer.name)[:4].upper()}-URGENT",
                    ship_after=placed + dt.timedelta(hours=2),
                    partial_ok=customer.partial_ok,
                )
            )
        for index, (product, warehouse, landed) in enumerate(self.landed_today):
            customer = rng.choice(ordinary)
            placed = landed + dt.timedelta(minutes=rng.uniform(20, 90))
            self.add(
                OrderPlace(
                    at=placed,
                    by=SALES_DESK,
                    order=ORDERS_PER_BLOCK + index,
                    customer=customer.key,
                    warehouse=warehouse,
                    priority=Priority.NORMAL,
                    lines=((product, rng.randint(*self.products[product].qty)),),
                    reference="",
                    ship_after=placed + dt.timedelta(hours=4),
                    partial_ok=customer.partial_ok,
                )
            )

    def _adjustments(self) -> None:
        rng, clock = self.rng, self.clock
        stocked = [level for level, opening in self.opening.items() if opening]

        def when() -> dt.datetime:
            return clock.at(rng.randint(-110, -1), rng.uniform(7, 17))

        for _ in range(25):
            level = rng.choice(stocked)
            self.add(
                CycleCount(at=when(), by=STAFF[level[1]], level=level, shrink=rng.randint(1, 3))
            )
        for count, sign, reasons in ((15, -1, ADJUSTMENT_REASONS), (5, 1, FOUND_REASONS)):
            for _ in range(count):
                level = rng.choice(stocked)
                self.add(
                    Adjust(
                        at=when(),
                        by=STAFF[level[1]],
                        level=level,
                        delta=sign * rng.randint(1, 4),
                        reason=rng.choice(reasons),
                    )
                )
        codes = [code for code, _ in WAREHOUSES]
        names = dict(WAREHOUSES)
        popular = sorted(self.products, key=lambda p: -p.popularity)[:40]
        for _ in range(8):
            product = rng.choice(popular)
            source, target = rng.sample(codes, 2)
            self.add(
                Transfer(
                    at=when(),
                    by=STAFF[source],
                    product=product.key,
                    source=source,
                    target=target,
                    quantity=rng.randint(*product.qty) * 2,
                    reason=f"Rebalancing stock towards {names[target]}",
                )
            )

    def _dispatch_runs(self) -> None:
        # Today's run is this afternoon: what became ready since yesterday's run is still here.
        for day in range(-HISTORY_DAYS + 1, 0):
            for index, (code, _) in enumerate(WAREHOUSES):
                self.add(
                    Dispatch(
                        at=self.clock.at(day, 15.5 + index / 6), by=STAFF[code], warehouse=code
                    )
                )


def _moved(event: Event, clock: Clock) -> Event | None:
    """The event at its real time, or None if it would happen after today."""
    at = clock.real(event.at)
    if at is None:
        return None
    changes: dict = {"at": at}
    if isinstance(event, OrderPlace):
        # Compared with the dispatch runs' real times, so it is mapped the same way; past today
        # means not due in the demo at all.
        changes["ship_after"] = clock.real(event.ship_after) or clock.now + dt.timedelta(days=365)
    return replace(event, **changes)


def plan_block(*, block: int, seed: int, clock: Clock) -> Plan:
    """The deterministic plan of one block of demo data (block 0 is the demo at scale 1)."""
    return _Planner(block=block, seed=seed, clock=clock).build()
