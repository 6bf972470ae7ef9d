"""What a release plan is, and what proposing and confirming it share: the fingerprint of the
state a plan looked at and the checks of the warehouse and the products asked for."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.bulk import ids_in
from common.cleaning import id_int
from inventory.models import StockLevel, Warehouse

from ...models import Priority, Release, SalesOrder
from ...selectors import QueueRow

MAX_PRODUCTS = 1000


class StalePlanError(ValidationError):
    """The stock or the queue changed after the plan was proposed; nothing was applied."""


@dataclass
class ReleaseLineProposal:
    line_id: int
    order_id: int
    order_number: str
    customer: str
    priority: int
    placed_at: dt.datetime
    waiting: int
    position: int  # 1-based place in the queue
    quantity: int = 0  # proposed units
    moved_up_reason: str = ""

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label

    # Worked out once per line, and only for the lines a page shows: a plan holds every waiting
    # line of its products, the review shows a bounded number of them.
    @cached_property
    def placed_on(self) -> dt.date:
        return timezone.localtime(self.placed_at).date()

    @cached_property
    def waiting_days(self) -> int:
        return (timezone.localdate() - self.placed_on).days

    @property
    def reason(self) -> str:
        """Why this line is where it is and gets what it gets, in words staff can check."""
        if self.moved_up_reason:
            why = f"Moved up from position {self.position}: {self.moved_up_reason}"
        else:
            why = (
                f"Position {self.position}: {self.priority_label.lower()} priority, waiting since "
                f"{self.placed_on:%d %b %Y} ({self.waiting_days} days)"
            )
        if self.quantity >= self.waiting:
            gets = f"gets all {self.waiting} waiting"
        elif self.quantity:
            gets = f"gets {self.quantity} of {self.waiting}: the stock runs out"
        else:
            gets = "gets nothing: the stock runs out before this line"
        return f"{why} — {gets}."


@dataclass
class ProductRelease:
    product_id: int
    sku: str
    name: str
    on_hand: int
    allocated: int
    lines: list[ReleaseLineProposal] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    @property
    def to_release(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def left_over(self) -> int:
        return self.available - self.to_release

    @property
    def waiting(self) -> int:
        return sum(line.waiting for line in self.lines)

    @property
    def lines_served(self) -> int:
        """Waiting lines the proposal gives something to."""
        return sum(1 for line in self.lines if line.quantity)

    @property
    def still_waiting(self) -> int:
        """Waiting lines the proposal leaves short (given less than they wait for, or nothing)."""
        return sum(1 for line in self.lines if line.quantity < line.waiting)


@dataclass
class ReleasePlan:
    warehouse_id: int
    shipment_id: int | None
    products: list[ProductRelease]
    fingerprint: str

    @property
    def product_ids(self) -> list[int]:
        return [p.product_id for p in self.products]

    @property
    def has_work(self) -> bool:
        return any(p.to_release for p in self.products)


@dataclass(frozen=True)
class ReleaseDecision:
    line_id: int
    quantity: int
    moved_up_reason: str = ""


@dataclass
class ReleaseResult:
    release: Release
    units: int
    ready_order_ids: list[int]

    @cached_property
    def ready_orders(self) -> list[SalesOrder]:
        """The orders the release made ready to ship, loaded (one query) when first asked for:
        a large release makes thousands ready, and most callers only count them."""
        if not self.ready_order_ids:
            return []
        return list(
            SalesOrder.objects.filter(pk__in=ids_in(self.ready_order_ids))
            .select_related("customer")
            .order_by("pk")
        )


def plan_fingerprint(
    warehouse_id: int,
    product_ids: list[int],
    levels: Mapping[int, StockLevel],
    queues: Mapping[int, list[QueueRow]],
) -> str:
    """What a plan depends on: free stock per product and each waiting line with its backorder."""
    state = [
        [
            pid,
            levels[pid].available if pid in levels else 0,
            [[row.line_id, row.waiting] for row in queues.get(pid, ())],
        ]
        for pid in product_ids
    ]
    payload = json.dumps([warehouse_id, state], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def product_ids_clean(product_ids: Iterable) -> list[int]:
    """The products asked for as sorted distinct ids: at least one, at most MAX_PRODUCTS."""
    try:
        ids = sorted({id_int(pid) for pid in product_ids})
    except (TypeError, ValueError):
        raise ValidationError("Choose products from the list.", code="unknown_product") from None
    if not ids:
        raise ValidationError("Choose at least one product to release.", code="no_products")
    if len(ids) > MAX_PRODUCTS:
        raise ValidationError(
            "Release at most %(max)s products at once.",
            code="too_many",
            params={"max": MAX_PRODUCTS},
        )
    return ids


def warehouse_clean(warehouse_id) -> int:
    """The id of an existing warehouse, or a ValidationError."""
    try:
        return Warehouse.objects.only("pk").get(pk=warehouse_id).pk
    except (Warehouse.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That warehouse does not exist.", code="unknown_warehouse") from None
