"""What a demo plan is made of: the rows that exist and the events of their history.

A plan is pure data built from a seeded random generator and today's date; it never looks at the
database. Both writers replay the same plan: `replay` through the services, `bulk` through an
in-memory copy of the services' rules. Decisions that depend on the stock at the time (how much a
damaged-goods write-off can take, which orders a dispatch run ships) are not in the plan: each
writer makes them from its own state by the same rule, so both reach the same result.

Plan time: days before today are real days. Today's events are squeezed into the part of today
that has already passed, so nothing is ever dated in the future and the demo has the same content
whatever the time of day it is seeded.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from backoffice.demo.catalogue import TEAM, WAREHOUSES
from orders.models import SalesOrderStatus

LevelKey = tuple[int, str]  # (product key, warehouse code)

HISTORY_DAYS = 125  # the opening stock take; orders span the last ORDER_DAYS
ORDER_DAYS = 120
ORDERS_PER_BLOCK = 300
MANAGER = next(user for user, *_, role in TEAM if role == "purchasing")
SALES_DESK = next(user for user, *_, role in TEAM if role == "sales")
STAFF = {role: user for user, *_, role in TEAM if role in dict(WAREHOUSES)}


@dataclass(frozen=True)
class Clock:
    """Maps plan time to real time: before today unchanged, today squeezed into [midnight, now)."""

    now: dt.datetime

    @property
    def today(self) -> dt.date:
        return self.now.date()

    @property
    def midnight(self) -> dt.datetime:
        return dt.datetime.combine(self.today, dt.time.min, tzinfo=self.now.tzinfo)

    def at(self, day: float, hour: float = 0.0) -> dt.datetime:
        """Plan time `day` days from today (negative: the past) at `hour` o'clock."""
        return self.midnight + dt.timedelta(days=math.floor(day), hours=hour)

    def real(self, when: dt.datetime) -> dt.datetime | None:
        """When a plan time happens, or None if it lies after today."""
        into_today = when - self.midnight
        if into_today < dt.timedelta(0):
            return when
        if into_today >= dt.timedelta(days=1):
            return None
        return self.midnight + (self.now - self.midnight) * (into_today / dt.timedelta(days=1))


# --- what exists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductPlan:
    key: int
    sku: str
    name: str
    unit: str
    category: str
    cost: Decimal
    qty: tuple[int, int]  # usual quantity on an order line
    popularity: float


@dataclass(frozen=True)
class SupplierPlan:
    key: int
    name: str
    email: str
    phone: str


@dataclass(frozen=True)
class TermPlan:
    supplier: int
    product: int
    supplier_sku: str
    unit_cost: Decimal
    lead_time_days: int
    min_order_qty: int
    pack_size: int
    is_preferred: bool


@dataclass(frozen=True)
class CustomerPlan:
    key: int
    name: str
    email: str
    warehouse: str
    key_account: bool
    partial_ok: bool  # takes part shipments of backordered orders
    weight: float
    favourites: tuple[str, ...]


# --- what happens ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Event:
    at: dt.datetime
    by: str  # username of the team member who did it


@dataclass(frozen=True, kw_only=True)
class OpeningCount(Event):
    level: LevelKey
    counted: int


@dataclass(frozen=True, kw_only=True)
class CycleCount(Event):
    """Counted `shrink` fewer than the books say, but never below what is allocated."""

    level: LevelKey
    shrink: int


@dataclass(frozen=True, kw_only=True)
class Adjust(Event):
    """A write-off (negative: at most what is available) or stock found (positive)."""

    level: LevelKey
    delta: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Transfer(Event):
    """Move up to `quantity` of what is free and not owed to the source's queue."""

    product: int
    source: str
    target: str
    quantity: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class SafetyStock(Event):
    levels: tuple[LevelKey, ...]
    value: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class PurchaseCreate(Event):
    po: int
    supplier: int
    warehouse: str
    expected: dt.date
    lines: tuple[tuple[int, int], ...]  # (product, quantity)
    notes: str = ""


@dataclass(frozen=True, kw_only=True)
class PurchaseSend(Event):
    po: int


@dataclass(frozen=True, kw_only=True)
class PurchaseReceive(Event):
    po: int
    quantities: tuple[tuple[int, int], ...]  # (product, quantity arrived)
    key: str  # idempotency key, also how a release finds this receipt
    reference: str


@dataclass(frozen=True, kw_only=True)
class PurchaseCancel(Event):
    po: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderPlace(Event):
    order: int
    customer: int
    warehouse: str
    priority: int
    lines: tuple[tuple[int, int], ...]
    reference: str
    ship_after: dt.datetime  # the dispatch run ships it once ready and past this time
    partial_ok: bool


@dataclass(frozen=True, kw_only=True)
class OrderCancel(Event):
    order: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class Release(Event):
    """Release to the queue what a receipt brought (receipt=key) or a cancellation freed."""

    warehouse: str
    receipt: str = ""
    cancelled_order: int | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Dispatch(Event):
    """The daily dispatch run: ship every order of the warehouse that is ready and due, and the
    allocated part of waiting orders whose customer takes part shipments."""

    warehouse: str


def ships_now(status: str, allocated: int, *, partial_ok: bool) -> bool:
    """What a dispatch run ships of a due order: all of a ready order, and the allocated part of a
    waiting order whose customer takes part shipments."""
    if status == SalesOrderStatus.READY:
        return True
    return status == SalesOrderStatus.BACKORDERED and partial_ok and allocated > 0


@dataclass
class Plan:
    block: int
    products: list[ProductPlan]
    suppliers: list[SupplierPlan]
    terms: list[TermPlan]
    customers: list[CustomerPlan]
    events: list[Event] = field(default_factory=list)
    started_at: dt.datetime | None = None  # the opening stock take

    @property
    def level_keys(self) -> list[LevelKey]:
        return [(p.key, code) for p in self.products for code, _ in WAREHOUSES]
