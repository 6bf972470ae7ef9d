"""When stock is due to reach each waiting line: free stock now, then open purchase orders by
expected date, walked in release order."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from inventory.models import StockLevel
from suppliers.selectors import open_supply

from ..models import OrderLine
from .queue import waiting_lines


@dataclass(frozen=True)
class Eta:
    """When enough stock is due to reach a waiting line.

    state: "now" (stock is on the shelf, waiting for a release), "expected" (a purchase order due on
    `date` covers it), "overdue" (the covering purchase order's expected date has passed), or
    "none" (no supply ordered covers it).
    """

    state: str
    date: dt.date | None = None
    reference: str = ""

    @property
    def label(self) -> str:
        if self.state == "now":
            return "In stock – awaiting release"
        if self.state == "expected":
            return f"{self.date:%d %b %Y}"
        if self.state == "overdue":
            return f"Overdue (was due {self.date:%d %b %Y})"
        return "No supply ordered"


def line_etas(*, lines: Iterable[OrderLine], today: dt.date | None = None) -> dict[int, Eta]:
    """ETA for each waiting line: walk each product × warehouse queue in release order against
    free stock now and then open purchase order lines by expected date; three queries in all."""
    today = today or timezone.localdate()
    lines = list(lines)
    pairs = {(line.product_id, line.order.warehouse_id) for line in lines}
    if not pairs:
        return {}
    product_ids = {p for p, _ in pairs}
    warehouse_ids = {w for _, w in pairs}

    queues: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    queue_rows = (
        waiting_lines()
        .filter(product_id__in=product_ids, order__warehouse_id__in=warehouse_ids)
        .values_list("id", "product_id", "order__warehouse_id", "quantity_backordered")
    )
    for line_id, product_id, warehouse_id, waiting in queue_rows:
        if (product_id, warehouse_id) in pairs:
            queues[(product_id, warehouse_id)].append((line_id, waiting))

    free_now = {
        (p, w): on_hand - allocated
        for p, w, on_hand, allocated in StockLevel.objects.filter(
            product_id__in=product_ids, warehouse_id__in=warehouse_ids
        ).values_list("product_id", "warehouse_id", "on_hand", "allocated")
    }
    supply = open_supply(product_ids=product_ids, warehouse_ids=warehouse_ids)

    etas: dict[int, Eta] = {}
    for pair, queue in queues.items():
        sources: list[tuple[str, dt.date | None, int, str]] = []
        if free_now.get(pair, 0) > 0:
            sources.append(("now", None, free_now[pair], ""))
        for expected, outstanding, reference in supply.get(pair, []):
            sources.append(
                ("overdue" if expected < today else "expected", expected, outstanding, reference)
            )
        covered = 0
        needed = 0
        index = 0
        for line_id, waiting in queue:
            needed += waiting
            while covered < needed and index < len(sources):
                covered += sources[index][2]
                index += 1
            if covered >= needed:
                state, date, _, reference = sources[index - 1]
                etas[line_id] = Eta(state=state, date=date, reference=reference)
            else:
                etas[line_id] = Eta(state="none")
    return etas
