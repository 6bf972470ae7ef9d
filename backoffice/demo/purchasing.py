"""The supply side of a demo plan: purchase orders, their deliveries and the releases after them.

Each supplier × warehouse is reviewed every two to three weeks: the planner orders up to cover the
lead time, the cycle and a few days more, from a forecast that is good for most products and too
low for the "short" ones, whose customers end up waiting. A few purchase orders are fixed so that
every state the pages show exists whatever the dice said (`_scenarios`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable

from backoffice.demo.catalogue import SUPPLIERS, WAREHOUSES
from backoffice.demo.events import (
    HISTORY_DAYS,
    MANAGER,
    STAFF,
    LevelKey,
    PurchaseCancel,
    PurchaseCreate,
    PurchaseReceive,
    PurchaseSend,
    Release,
)


def _round_up(quantity: float, *, pack: int, moq: int) -> int:
    return max(moq, pack * math.ceil(max(quantity, 1) / pack))


# Over the last weeks, suppliers ration the "short" products, so their queues grow.
RATIONED_DAYS = 45


class SupplyPlanner:
    """Mixed into the planner; uses its generator, clock, catalogue, demand and forecasts."""

    def _purchase(
        self,
        *,
        supplier: int,
        warehouse: str,
        created: dt.datetime,
        lines: Iterable[tuple[int, int]],
        sent: dt.datetime | None,
        expected: dt.date,
        notes: str = "",
    ) -> int:
        po = self.next_po
        self.next_po += 1
        lines = tuple(lines)
        self.add(
            PurchaseCreate(
                at=created,
                by=MANAGER,
                po=po,
                supplier=supplier,
                warehouse=warehouse,
                expected=expected,
                lines=lines,
                notes=notes,
            )
        )
        if sent is not None:
            self.add(PurchaseSend(at=sent, by=MANAGER, po=po))
        for product, quantity in lines:
            self.on_order[(product, warehouse)].append((created, quantity))
        return po

    def _receive(
        self,
        *,
        po: int,
        warehouse: str,
        at: dt.datetime,
        quantities: Iterable[tuple[int, int]],
        release: bool,
        part: int = 1,
    ) -> None:
        key = f"demo-{self.block}-{po}-{part}"
        self.add(
            PurchaseReceive(
                at=at,
                by=STAFF[warehouse],
                po=po,
                quantities=tuple(quantities),
                key=key,
                reference=f"DN-{self.rng.randint(100000, 999999)}",
            )
        )
        for product, quantity in quantities:
            self.arrived[(product, warehouse)].append((at, quantity))
        if release:
            self.add(
                Release(
                    at=at + dt.timedelta(minutes=self.rng.uniform(10, 50)),
                    by=STAFF[warehouse],
                    warehouse=warehouse,
                    receipt=key,
                    note="Stock received from the supplier",
                )
            )

    def _purchasing(self) -> None:
        """Each supplier × warehouse is reviewed every two to three weeks: order up to cover the
        lead time, the cycle and a few days more, from a forecast that is good for most products
        and too low for the 'short' ones, whose customers end up waiting."""
        rng = self.rng
        self.on_order: dict[LevelKey, list[tuple[dt.datetime, int]]] = defaultdict(list)
        self.arrived: dict[LevelKey, list[tuple[dt.datetime, int]]] = defaultdict(list)
        end = self.clock.at(1)
        by_supplier: dict[int, list[int]] = defaultdict(list)
        for product, term in self.preferred.items():
            by_supplier[term.supplier].append(product)
        for supplier in range(len(SUPPLIERS)):
            for warehouse, _ in WAREHOUSES:
                cycle = rng.randint(14, 24)
                day = -HISTORY_DAYS + 2 + rng.uniform(0, cycle)
                while (review := self.clock.at(day, rng.uniform(9, 12))) < end:
                    self._review(supplier, warehouse, by_supplier[supplier], review, cycle)
                    day += cycle + rng.randint(-2, 2)

    def _position(self, level: LevelKey, when: dt.datetime) -> int:
        ordered = sum(q for at, q in self.on_order.get(level, []) if at < when)
        return self.opening[level] + ordered - self.demand_before(level, when)

    def _review(
        self, supplier: int, warehouse: str, products: list[int], review: dt.datetime, cycle: int
    ) -> None:
        rng = self.rng
        rationed_from = self.clock.at(-RATIONED_DAYS)
        needs = []
        for product in products:
            level = (product, warehouse)
            forecast = self.forecast[level]
            if forecast <= 0:
                continue
            term = self.preferred[product]
            target = forecast * (term.lead_time_days + cycle + 5)
            need = target - self._position(level, review)
            if level in self.short and review >= rationed_from:
                # The supplier is rationing these: the backlog cannot be caught up.
                need = min(need, 0.4 * self.rate[level] * cycle)
            if need > max(1.0, 0.2 * forecast * cycle):
                needs.append((need, product))
        if not needs:
            return
        needs.sort(reverse=True)
        lines = [
            (
                product,
                _round_up(
                    need,
                    pack=self.preferred[product].pack_size,
                    moq=self.preferred[product].min_order_qty,
                ),
            )
            for need, product in needs[:12]
        ]
        lead = max(self.preferred[product].lead_time_days for product, _ in lines)
        sent = review + dt.timedelta(hours=rng.uniform(1, 5))
        expected = sent.date() + dt.timedelta(days=lead)
        po = self._purchase(
            supplier=supplier,
            warehouse=warehouse,
            created=review,
            lines=sorted(lines),
            sent=sent,
            expected=expected,
        )
        delay = rng.choices((-1, 0, 1, 2, 3, 5, 8), weights=(8, 60, 12, 6, 5, 5, 4))[0]
        arrives = max(
            self.clock.at((expected - self.clock.today).days + delay, rng.uniform(8, 13)),
            sent + dt.timedelta(days=1),
        )
        release = arrives < self.clock.midnight  # today's deliveries still wait for their release
        if rng.random() < 0.15 and any(q > 1 for _, q in lines):
            first = [(p, max(1, q * rng.randint(40, 80) // 100)) for p, q in lines]
            rest = [(p, q - f) for (p, q), (_, f) in zip(lines, first, strict=True) if q > f]
            self._receive(
                po=po, warehouse=warehouse, at=arrives, quantities=sorted(first), release=release
            )
            later = arrives + dt.timedelta(days=rng.randint(3, 9), hours=rng.uniform(-2, 2))
            self._receive(
                po=po,
                warehouse=warehouse,
                at=later,
                quantities=sorted(rest),
                release=later < self.clock.midnight,
                part=2,
            )
        else:
            self._receive(po=po, warehouse=warehouse, at=arrives, quantities=lines, release=release)

    def _lines_for(self, supplier: int, warehouse: str, count: int, days: int):
        products = sorted(
            (p for p, term in self.preferred.items() if term.supplier == supplier),
            key=lambda p: -self.forecast[(p, warehouse)],
        )[:count]
        lines = []
        for product in products:
            term = self.preferred[product]
            need = max(self.forecast[(product, warehouse)] * days, self.products[product].qty[1])
            lines.append((product, _round_up(need, pack=term.pack_size, moq=term.min_order_qty)))
        return sorted(lines)

    def _scenarios(self) -> None:
        """Purchase orders the demo must show whatever the dice said: one due today, one overdue,
        one partly received, a draft, two cancelled, and deliveries that landed this morning for
        products with customers waiting, not released yet."""
        rng, clock = self.rng, self.clock
        with_products = sorted({term.supplier for term in self.preferred.values()})
        a, b, c, d, e, f = rng.sample(with_products, 6)

        def sent_days_ago(supplier: int, expected_in: int) -> tuple[dt.datetime, dt.date]:
            lead = self.lead[supplier]
            created = clock.at(expected_in - lead - 1, rng.uniform(9, 11))
            return created, clock.today + dt.timedelta(days=expected_in)

        created, expected = sent_days_ago(a, 0)
        self._purchase(
            supplier=a,
            warehouse="LON",
            created=created,
            lines=self._lines_for(a, "LON", 4, 20),
            sent=created + dt.timedelta(hours=2),
            expected=expected,
        )
        created, expected = sent_days_ago(b, -6)
        self._purchase(
            supplier=b,
            warehouse="MAN",
            created=created,
            lines=self._lines_for(b, "MAN", 5, 20),
            sent=created + dt.timedelta(hours=3),
            expected=expected,
            notes="Supplier confirmed a delay: their haulier is short of drivers.",
        )
        created, expected = sent_days_ago(c, -3)
        lines = self._lines_for(c, "BRS", 4, 25)
        po = self._purchase(
            supplier=c,
            warehouse="BRS",
            created=created,
            lines=lines,
            sent=created + dt.timedelta(hours=1),
            expected=expected,
        )
        self._receive(
            po=po,
            warehouse="BRS",
            at=clock.at(-3, 10.5),
            quantities=[(p, max(1, q // 2)) for p, q in lines],
            release=True,
        )
        self._purchase(
            supplier=d,
            warehouse="LON",
            created=clock.at(0, 8.5),
            lines=self._lines_for(d, "LON", 6, 30),
            sent=None,
            expected=clock.today + dt.timedelta(days=self.lead[d] + 2),
            notes="Waiting for approval of the new price list.",
        )
        po = self._purchase(
            supplier=e,
            warehouse="MAN",
            created=clock.at(-40, 10),
            lines=self._lines_for(e, "MAN", 3, 20),
            sent=None,
            expected=clock.today + dt.timedelta(days=-40 + self.lead[e]),
        )
        self.add(
            PurchaseCancel(
                at=clock.at(-39, 9),
                by=MANAGER,
                po=po,
                reason="Raised against the wrong warehouse",
            )
        )
        po = self._purchase(
            supplier=f,
            warehouse="BRS",
            created=clock.at(-26, 10),
            lines=self._lines_for(f, "BRS", 3, 20),
            sent=clock.at(-26, 12),
            expected=clock.today + dt.timedelta(days=-26 + self.lead[f]),
        )
        self.add(
            PurchaseCancel(
                at=clock.at(-12, 15),
                by=MANAGER,
                po=po,
                reason="Supplier discontinued these lines; re-sourcing",
            )
        )
        # Deliveries this morning for the short levels most behind: stock free and a queue waiting.
        end = clock.at(1)

        def backlog(level: LevelKey) -> int:
            arrived = sum(q for at, q in self.arrived.get(level, []) if at < end)
            return self.demand_before(level, end) - self.opening[level] - arrived

        behind = sorted(self.short, key=lambda level: (-backlog(level), level))[:4]
        self.landed_today = []
        for index, (product, warehouse) in enumerate(behind[:3]):
            term = self.preferred[product]
            quantity = _round_up(
                max(backlog((product, warehouse)) * 0.6, self.products[product].qty[1]),
                pack=term.pack_size,
                moq=term.min_order_qty,
            )
            created = clock.at(-term.lead_time_days - 2, 9)
            po = self._purchase(
                supplier=term.supplier,
                warehouse=warehouse,
                created=created,
                lines=[(product, quantity)],
                sent=created + dt.timedelta(hours=2),
                expected=clock.today,
                notes="Expedited for waiting customers.",
            )
            landed = clock.at(0, 9 + index / 4)
            self._receive(
                po=po,
                warehouse=warehouse,
                at=landed,
                quantities=[(product, quantity)],
                release=False,
            )
            self.landed_today.append((product, warehouse, landed))
        # And one that shows priority at work: an urgent order placed the day before yesterday is
        # first in line when a small delivery is released yesterday (see the planner's orders).
        self.rushed = None
        if len(behind) == 4:
            product, warehouse = behind[3]
            term = self.preferred[product]
            quantity = self.products[product].qty[1]
            created = clock.at(-term.lead_time_days - 3, 10)
            po = self._purchase(
                supplier=term.supplier,
                warehouse=warehouse,
                created=created,
                lines=[(product, _round_up(quantity, pack=term.pack_size, moq=term.min_order_qty))],
                sent=created + dt.timedelta(hours=1),
                expected=clock.today - dt.timedelta(days=1),
            )
            self._receive(
                po=po,
                warehouse=warehouse,
                at=clock.at(-1, 10),
                quantities=[
                    (product, _round_up(quantity, pack=term.pack_size, moq=term.min_order_qty))
                ],
                release=True,
            )
            self.rushed = (product, warehouse, quantity)
