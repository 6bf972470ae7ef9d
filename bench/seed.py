"""Seed the benchmark database: size L is 100,000 products and a million ledger rows.

The data is drawn from a fixed random seed, dated relative to now, and written with PostgreSQL
COPY through psycopg 3 in a few streamed passes; rows go to the server as they are produced, so
memory holds only compact per-line and per-level arrays, never the rows themselves. Primary keys
are assigned here (the tables are empty after `migrate`) and the identity sequences are moved past
them at the end.

The data keeps DESIGN.md's rules, so `check_stock` is clean afterwards:
- a level's on hand is its ledger sum, each movement's balance_after is the running balance in id
  order, and no balance is ever negative;
- a level's allocated is what its order lines hold; every line's allocation history (placement
  +, shipment −) sums to its allocated and shipped quantities; order statuses follow the lines;
- rule 3: a level with a waiting line has no free stock, except the products of one large,
  just-received shipment at the first warehouse, whose stock is waiting to be released (the
  release review page measures that shipment).

Counts at size L (scaled down for the smaller sizes): 100,000 products × 3 warehouses,
5,000 suppliers with 150,000 supply terms, 200,000 customer orders with 600,000 lines over two
years, exactly 50,000 lines waiting, 20,000 open purchase order lines, exactly 1,000,000 ledger
rows.
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from .common import Size, peak_rss_mb

WAREHOUSES = (("NTH", "North distribution centre"), ("MID", "Midlands"), ("STH", "South"))
HISTORY_DAYS = 730
# Orders placed within this many days may still be open (waiting or ready to ship).
OPEN_WINDOW_DAYS = 120
LINES_PER_ORDER = 3
PO_LINES = 10
STAFF_USERNAME = "bench-staff"
MANAGER_USERNAME = "bench-manager"

ADJECTIVES = (
    "Steel",
    "Brass",
    "Nylon",
    "Rubber",
    "Copper",
    "Oak",
    "Cotton",
    "Glass",
    "Ceramic",
    "Carbon",
    "Zinc",
    "Maple",
    "Vinyl",
    "Felt",
    "Cork",
    "Teak",
)
NOUNS = (
    "bracket",
    "hinge",
    "washer",
    "valve",
    "gasket",
    "flange",
    "spring",
    "bearing",
    "clamp",
    "coupling",
    "bolt",
    "fitting",
    "pulley",
    "castor",
    "handle",
    "socket",
    "seal",
    "spacer",
)


@dataclass(frozen=True)
class Counts:
    products: int
    suppliers: int
    customers: int
    orders: int
    waiting_lines: int
    open_po_lines: int
    history_pos: int
    ledger_rows: int
    release_products: int

    @classmethod
    def for_size(cls, size: Size) -> Counts:
        f = size.scale
        return cls(
            products=round(100_000 * f),
            suppliers=round(5_000 * f),
            customers=max(20, round(20_000 * f)),
            orders=round(200_000 * f),
            waiting_lines=round(50_000 * f),
            open_po_lines=round(20_000 * f),
            history_pos=round(5_000 * f),
            ledger_rows=round(1_000_000 * f),
            release_products=max(10, round(200 * f)),
        )

    @property
    def levels(self) -> int:
        return self.products * len(WAREHOUSES)

    @property
    def lines(self) -> int:
        return self.orders * LINES_PER_ORDER

    @property
    def supply_terms(self) -> int:
        # Every product has a preferred supplier; every even-numbered product a second one.
        return self.products + self.products // 2


@dataclass
class SeedReport:
    size: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    phases: list[tuple[str, float]] = field(default_factory=list)


class Clock:
    """Wall time of each phase, for the report."""

    def __init__(self, report: SeedReport, log):
        self.report, self.log, self.start = report, log, time.perf_counter()
        self.last = self.start

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.report.phases.append((phase, now - self.last))
        self.log(f"  {phase}: {now - self.last:.1f} s (peak RSS {peak_rss_mb():.0f} MB)")
        self.last = now


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> int:
    """Stream rows into a table with COPY; returns how many were written."""
    count = 0
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(statement) as copy:
        for values in rows:
            copy.write_row(values)
            count += 1
    return count


def _preferred_supplier(product: int, suppliers: int) -> int:
    return (product - 1) % suppliers + 1


def _second_supplier(product: int, suppliers: int) -> int:
    # Distinct from the preferred one: shifted by 1 … suppliers − 1.
    shift = 1 + ((product - 1) // suppliers) % (suppliers - 1)
    return (product - 1 + shift) % suppliers + 1


def _lead_time(product: int, supplier: int) -> int:
    return 3 + (product * 31 + supplier * 17) % 26


def _pack_size(product: int) -> int:
    return (1, 1, 1, 5, 6, 10, 12, 24)[product % 8]


class Seeder:
    """Draws and writes one size of benchmark data into an empty, migrated database."""

    def __init__(self, size: Size, *, log=print, seed: int = 20240501):
        self.size = size
        self.n = Counts.for_size(size)
        self.rng = random.Random(seed)
        self.log = log
        self.now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
        # Every moment in the data is a whole number of seconds after this base.
        self.base = self.now - timedelta(days=HISTORY_DAYS + 15)
        self.horizon = int((self.now - self.base).total_seconds())
        self.report = SeedReport(size=size.name)

    # --- helpers -----------------------------------------------------------------------------

    def at(self, seconds: int) -> datetime:
        return self.base + timedelta(seconds=seconds)

    def level_of(self, product: int, warehouse: int) -> int:
        """0-based level index; the level's id is this + 1."""
        return (product - 1) * len(WAREHOUSES) + (warehouse - 1)

    def pick_product(self) -> int:
        # Skewed: low product numbers are the busy ones (product 1 is the busiest).
        return int(self.n.products * self.rng.random() ** 2) + 1

    # --- the whole run -----------------------------------------------------------------------

    def run(self, connection) -> SeedReport:
        """Write everything through a psycopg 3 connection (in one transaction)."""
        started = time.perf_counter()
        clock = Clock(self.report, self.log)
        with connection.transaction(), connection.cursor() as cur:
            self.users(cur)
            self.catalogue(cur)
            clock.lap("products, levels, suppliers, terms")
            self.draw_orders()
            clock.lap("orders drawn")
            self.write_orders(cur)
            clock.lap("orders, lines, allocations written")
            self.daily_demand(cur)
            clock.lap("daily demand counted")
            self.draw_purchasing()
            self.write_purchasing(cur)
            clock.lap("purchase orders and shipments")
            self.write_levels_and_ledger(cur)
            clock.lap("stock levels and ledger")
            self.level_counters(cur)
            clock.lap("levels' backordered and on-order counters")
            self.sequences(cur)
        self.report.seconds = time.perf_counter() - started
        self.report.peak_rss_mb = peak_rss_mb()
        return self.report

    # --- users, warehouses, products, suppliers ----------------------------------------------

    def users(self, cur) -> None:
        from django.contrib.auth.hashers import make_password

        from backoffice.roles import MANAGER_GROUP, STAFF_GROUP

        unusable = make_password(None)
        for username, group in ((STAFF_USERNAME, STAFF_GROUP), (MANAGER_USERNAME, MANAGER_GROUP)):
            user_id = cur.execute(
                "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
                " email, is_staff, is_active, date_joined) VALUES (%s, false, %s, 'Bench', %s,"
                " '', false, true, %s) RETURNING id",
                [unusable, username, group, self.now],
            ).fetchone()[0]
            cur.execute(
                "INSERT INTO auth_user_groups (user_id, group_id)"
                " SELECT %s, id FROM auth_group WHERE name = %s",
                [user_id, group],
            )

    def catalogue(self, cur) -> None:
        from inventory.models import Product, Warehouse
        from orders.models import Customer
        from suppliers.models import Supplier, SupplierProduct

        n = self.n
        _copy(
            cur,
            Warehouse._meta.db_table,
            ("id", "code", "name", "is_active"),
            ((i, code, name, True) for i, (code, name) in enumerate(WAREHOUSES, start=1)),
        )
        created = self.at(0)
        self.report.counts["products"] = _copy(
            cur,
            Product._meta.db_table,
            ("id", "sku", "name", "unit", "is_active", "service_level", "created_at"),
            (
                (
                    p,
                    f"BN-{p:06d}",
                    f"{ADJECTIVES[p % 16]} {NOUNS[p % 18]} {p}",
                    "each",
                    True,
                    None,
                    created,
                )
                for p in range(1, n.products + 1)
            ),
        )
        self.report.counts["suppliers"] = _copy(
            cur,
            Supplier._meta.db_table,
            ("id", "name", "email", "phone", "is_active", "ordering_cost"),
            (
                (
                    s,
                    f"Supplier {s:05d} Ltd",
                    f"orders@supplier{s:05d}.example.com",
                    "",
                    True,
                    Decimal(25 + s % 50),
                )
                for s in range(1, n.suppliers + 1)
            ),
        )

        def terms():
            term_id = 0
            for p in range(1, n.products + 1):
                cost = Decimal(100 + (p * 37) % 9900) / 100
                suppliers = [(_preferred_supplier(p, n.suppliers), True)]
                if p % 2 == 0:
                    suppliers.append((_second_supplier(p, n.suppliers), False))
                for s, preferred in suppliers:
                    term_id += 1
                    yield (
                        term_id,
                        s,
                        p,
                        f"S{s}-{p}",
                        cost if preferred else cost * Decimal("1.08"),
                        _lead_time(p, s),
                        (1, 1, 10, 20, 50)[p % 5],
                        _pack_size(p),
                        preferred,
                    )

        self.report.counts["supply_terms"] = _copy(
            cur,
            SupplierProduct._meta.db_table,
            (
                "id",
                "supplier_id",
                "product_id",
                "supplier_sku",
                "unit_cost",
                "lead_time_days",
                "min_order_qty",
                "pack_size",
                "is_preferred",
            ),
            terms(),
        )
        self.report.counts["customers"] = _copy(
            cur,
            Customer._meta.db_table,
            ("id", "name", "email", "is_active"),
            (
                (c, f"Customer {c:06d}", f"buyer{c}@customer.example.com", True)
                for c in range(1, n.customers + 1)
            ),
        )

    # --- customer orders ---------------------------------------------------------------------

    def draw_orders(self) -> None:
        """Orders in time order (ids grow with placed time), three distinct products each; the
        newest lines are left waiting until exactly `waiting_lines` wait."""
        n, rng = self.n, self.rng
        day = 86_400
        first = self.horizon - HISTORY_DAYS * day
        span = HISTORY_DAYS * day - 3 * 3600
        self.o_placed = array(
            "l", sorted(first + int(rng.random() * span) for _ in range(n.orders))
        )
        self.o_wh = array("b", (rng.randrange(1, 4) for _ in range(n.orders)))
        self.o_prio = array(
            "b", (rng.choices((0, 1, 2, 3), (15, 70, 10, 5))[0] for _ in range(n.orders))
        )
        self.o_cust = array("l", (rng.randrange(1, n.customers + 1) for _ in range(n.orders)))

        lines = n.lines
        self.l_prod = array("l", bytes(8 * lines))
        self.l_qty = array("l", bytes(8 * lines))
        self.l_alloc = array("l", bytes(8 * lines))
        self.l_ship = array("l", bytes(8 * lines))
        self.l_canc = array("l", bytes(8 * lines))
        for o in range(n.orders):
            chosen: set[int] = set()
            while len(chosen) < LINES_PER_ORDER:
                chosen.add(self.pick_product())
            for k, p in enumerate(sorted(chosen)):
                i = o * LINES_PER_ORDER + k
                self.l_prod[i] = p
                self.l_qty[i] = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 20))

        open_from = self.horizon - OPEN_WINDOW_DAYS * day
        waiting = 0
        # Newest first: the queue is made of the most recent lines.
        for i in range(lines - 1, -1, -1):
            q = self.l_qty[i]
            placed = self.o_placed[i // LINES_PER_ORDER]
            r = rng.random()
            if placed >= open_from and waiting < n.waiting_lines and r < 0.7:
                waiting += 1
                # A fifth of the waiting lines got part of their quantity when placed.
                if q >= 2 and rng.random() < 0.2:
                    self.l_alloc[i] = rng.randrange(1, q)
            elif placed >= open_from and r < 0.8:
                self.l_alloc[i] = q  # ready to ship
            elif r < 0.97 or placed >= open_from:
                self.l_ship[i] = q
            elif r < 0.99:
                self.l_canc[i] = q
            else:
                shipped = rng.randrange(1, q) if q >= 2 else q
                self.l_ship[i] = shipped
                self.l_canc[i] = q - shipped
        if waiting != n.waiting_lines:
            raise RuntimeError(f"drew {waiting} waiting lines, wanted {n.waiting_lines}")

    def ship_time(self, i: int) -> int:
        placed = self.o_placed[i // LINES_PER_ORDER]
        return min(placed + 86_400 + (i % 48) * 3600, self.horizon - 4 * 3600)

    def order_status(self, o: int) -> str:
        waiting = allocated = shipped = False
        for i in range(o * LINES_PER_ORDER, (o + 1) * LINES_PER_ORDER):
            waiting |= self.l_qty[i] - self.l_alloc[i] - self.l_ship[i] - self.l_canc[i] > 0
            allocated |= self.l_alloc[i] > 0
            shipped |= self.l_ship[i] > 0
        if waiting:
            return "backordered"
        if allocated:
            return "ready"
        return "shipped" if shipped else "cancelled"

    def write_orders(self, cur) -> None:
        from orders.models import Allocation, OrderLine, SalesOrder

        n = self.n

        def orders():
            for o in range(n.orders):
                status = self.order_status(o)
                placed = self.at(self.o_placed[o])
                cancelled = placed + timedelta(days=2) if status == "cancelled" else None
                yield (
                    o + 1,
                    self.o_cust[o],
                    self.o_wh[o],
                    self.o_prio[o],
                    status,
                    f"PO {o + 1}" if o % 4 == 0 else "",
                    placed,
                    None,
                    cancelled,
                    "Customer withdrew" if cancelled else "",
                )

        self.report.counts["orders"] = _copy(
            cur,
            SalesOrder._meta.db_table,
            (
                "id",
                "customer_id",
                "warehouse_id",
                "priority",
                "status",
                "customer_reference",
                "placed_at",
                "created_by_id",
                "cancelled_at",
                "cancel_reason",
            ),
            orders(),
        )

        def lines():
            for i in range(n.lines):
                yield (
                    i + 1,
                    i // LINES_PER_ORDER + 1,
                    self.l_prod[i],
                    self.l_qty[i],
                    self.l_alloc[i],
                    self.l_ship[i],
                    self.l_canc[i],
                    "Customer withdrew" if self.l_canc[i] else "",
                )

        self.report.counts["order_lines"] = _copy(
            cur,
            OrderLine._meta.db_table,
            (
                "id",
                "order_id",
                "product_id",
                "quantity_ordered",
                "quantity_allocated",
                "quantity_shipped",
                "quantity_cancelled",
                "cancel_reason",
            ),
            lines(),
        )

        def allocations():
            allocation_id = 0
            for i in range(n.lines):
                given = self.l_alloc[i] + self.l_ship[i]
                if not given:
                    continue
                allocation_id += 1
                placed = self.at(self.o_placed[i // LINES_PER_ORDER])
                yield (allocation_id, i + 1, given, "placement", "", placed)
                if self.l_ship[i]:
                    allocation_id += 1
                    yield (
                        allocation_id,
                        i + 1,
                        -self.l_ship[i],
                        "shipment",
                        "",
                        self.at(self.ship_time(i)),
                    )

        self.report.counts["allocations"] = _copy(
            cur,
            Allocation._meta.db_table,
            ("id", "line_id", "quantity", "kind", "reason", "created_at"),
            allocations(),
        )

    def daily_demand(self, cur) -> None:
        """The daily demand the order services would have kept, counted from the lines and
        allocations just written (the statement the migration's backfill runs)."""
        from orders.models import DailyDemand
        from orders.services.demand import COUNTERS, daily_demand_recomputed

        names = ("product_id", "warehouse_id", "day", *COUNTERS)
        sql, params = daily_demand_recomputed().values_list(*names).query.sql_with_params()
        cur.execute(
            f"INSERT INTO {DailyDemand._meta.db_table} ({', '.join(names)}) {sql}",
            params,
        )
        self.report.counts["daily_demand"] = cur.rowcount

    # --- purchasing --------------------------------------------------------------------------

    def draw_purchasing(self) -> None:
        """Purchase orders as (supplier, warehouse, status, sent, expected, received, lines),
        each line [product, ordered, received]; dates follow the supply terms' lead times."""
        n, rng, day = self.n, self.rng, 86_400
        # Per level: units held by lines, units waiting, and whether anything waits.
        self.v_alloc = array("l", bytes(8 * n.levels))
        self.v_wait = array("l", bytes(8 * n.levels))
        self.v_waiting_lines = array("l", bytes(8 * n.levels))
        for i in range(n.lines):
            lev = self.level_of(self.l_prod[i], self.o_wh[i // LINES_PER_ORDER])
            self.v_alloc[lev] += self.l_alloc[i]
            backordered = self.l_qty[i] - self.l_alloc[i] - self.l_ship[i] - self.l_canc[i]
            if backordered > 0:
                self.v_wait[lev] += backordered
                self.v_waiting_lines[lev] += 1

        pos: list[tuple] = []
        per_supplier = n.products // n.suppliers
        # History: received orders, one shipment each, spread over two years (lead-time data).
        for k in range(n.history_pos):
            s = k % n.suppliers + 1
            wh = (k // n.suppliers) % 3 + 1
            offset = rng.randrange(0, per_supplier - PO_LINES + 1)
            products = [s + (offset + j) * n.suppliers for j in range(PO_LINES)]
            lead = _lead_time(products[0], s)
            sent = self.horizon - HISTORY_DAYS * day + rng.randrange(0, (HISTORY_DAYS - 60) * day)
            received = sent + int(lead * day * rng.uniform(0.7, 1.5))
            lines = [[p, q, q] for p in products for q in [rng.choice((24, 48, 60, 96, 120))]]
            pos.append((s, wh, "received", sent, sent + lead * day, received, lines))

        # Open orders: for the levels with the longest queues first, grouped by preferred
        # supplier × warehouse, until exactly open_po_lines lines are on order.
        queued = sorted(
            (lev for lev in range(n.levels) if self.v_wait[lev] > 0),
            key=lambda lev: (-self.v_wait[lev], lev),
        )
        if len(queued) < n.open_po_lines:
            queued_set = set(queued)
            queued += [lev for lev in range(n.levels) if lev not in queued_set]
        groups: dict[tuple[int, int], list[int]] = {}
        for lev in queued[: n.open_po_lines]:
            p, wh = lev // 3 + 1, lev % 3 + 1
            groups.setdefault((_preferred_supplier(p, n.suppliers), wh), []).append(lev)
        for (s, wh), levs in sorted(groups.items()):
            for start in range(0, len(levs), PO_LINES):
                chunk = levs[start : start + PO_LINES]
                lead = _lead_time(chunk[0] // 3 + 1, s)
                # Some were sent long enough ago to be overdue now.
                sent = self.horizon - rng.randrange(day, (lead + 6) * day)
                partial = rng.random() < 0.2
                lines = []
                for lev in chunk:
                    p = lev // 3 + 1
                    pack = _pack_size(p)
                    ordered = -(-(self.v_wait[lev] + rng.randrange(0, 40)) // pack) * pack
                    ordered = max(ordered, pack)
                    got = ordered // 2 if partial and ordered >= 2 and rng.random() < 0.5 else 0
                    lines.append([p, ordered, got])
                if partial and not any(line[2] for line in lines):
                    partial = False
                status = "partially_received" if partial else "sent"
                arrived = min(sent + lead * day // 2, self.horizon - 5 * 3600) if partial else None
                pos.append((s, wh, status, sent, sent + lead * day, arrived, lines))

        # The large shipment that just landed at the first warehouse: its products have queues
        # and the arrived stock waits to be released.
        wh1 = sorted(
            (lev for lev in range(0, n.levels, 3) if self.v_waiting_lines[lev] > 0),
            key=lambda lev: (-self.v_waiting_lines[lev], lev),
        )[: n.release_products]
        release_lines = []
        for lev in sorted(wh1):
            arrived = max(1, self.v_wait[lev] * 6 // 10)
            release_lines.append([lev // 3 + 1, arrived, arrived])
        self.release_levels = {
            lev: line[1] for lev, line in zip(sorted(wh1), release_lines, strict=True)
        }
        pos.append(
            (
                1,
                1,
                "received",
                self.horizon - 9 * day,
                self.horizon - day,
                self.horizon - 1800,
                release_lines,
            )
        )
        self.pos = pos

    def write_purchasing(self, cur) -> None:
        from suppliers.models import PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine

        # Receipts per level, for the ledger: (level, time, quantity, reference).
        self.receipts: list[tuple[int, int, int, str]] = []
        po_rows, line_rows, shipment_rows, shipment_line_rows = [], [], [], []
        line_id = shipment_id = shipment_line_id = 0
        for po_index, (s, wh, status, sent, expected, arrived, lines) in enumerate(self.pos):
            po_id = po_index + 1
            expected_day = (self.base + timedelta(seconds=expected)).date()
            closed = self.at(arrived) if status == "received" else None
            po_rows.append(
                (
                    po_id,
                    s,
                    wh,
                    status,
                    expected_day,
                    "",
                    None,
                    self.at(sent - 3600),
                    self.at(sent),
                    closed,
                    "",
                )
            )
            if arrived is not None:
                shipment_id += 1
                shipment_rows.append(
                    (
                        shipment_id,
                        po_id,
                        f"bench-{shipment_id}",
                        f"DN{shipment_id:07d}",
                        None,
                        self.at(arrived),
                    )
                )
            for p, ordered, received in lines:
                line_id += 1
                line_rows.append(
                    (line_id, po_id, p, ordered, received, Decimal(100 + (p * 37) % 9900) / 100)
                )
                if received:
                    shipment_line_id += 1
                    shipment_line_rows.append((shipment_line_id, shipment_id, line_id, received))
                    self.receipts.append(
                        (
                            self.level_of(p, wh),
                            arrived,
                            received,
                            f"PO-{po_id:06d} SH-{shipment_id:06d}",
                        )
                    )
        self.release_shipment_id = shipment_id
        self.report.counts["purchase_orders"] = _copy(
            cur,
            PurchaseOrder._meta.db_table,
            (
                "id",
                "supplier_id",
                "warehouse_id",
                "status",
                "expected_date",
                "notes",
                "created_by_id",
                "created_at",
                "sent_at",
                "closed_at",
                "cancel_reason",
            ),
            po_rows,
        )
        self.report.counts["purchase_order_lines"] = _copy(
            cur,
            PurchaseOrderLine._meta.db_table,
            (
                "id",
                "purchase_order_id",
                "product_id",
                "quantity_ordered",
                "quantity_received",
                "unit_cost",
            ),
            line_rows,
        )
        self.report.counts["shipments"] = _copy(
            cur,
            Shipment._meta.db_table,
            (
                "id",
                "purchase_order_id",
                "idempotency_key",
                "reference",
                "received_by_id",
                "received_at",
            ),
            shipment_rows,
        )
        _copy(
            cur,
            ShipmentLine._meta.db_table,
            ("id", "shipment_id", "purchase_order_line_id", "quantity"),
            shipment_line_rows,
        )
        del self.pos

    # --- levels and ledger -------------------------------------------------------------------

    def level_events(self):
        """Per level in level order: (level, [(time, quantity, kind, reference), …] in time
        order). Events are customer shipments and purchase receipts."""
        n = self.n
        keys: list[tuple[int, int, int]] = []
        for i in range(n.lines):
            if self.l_ship[i]:
                lev = self.level_of(self.l_prod[i], self.o_wh[i // LINES_PER_ORDER])
                keys.append((lev, self.ship_time(i), i))
        for r, (lev, when, _q, _ref) in enumerate(self.receipts):
            keys.append((lev, when, n.lines + r))
        keys.sort()
        position = 0
        for lev in range(n.levels):
            events = []
            while position < len(keys) and keys[position][0] == lev:
                _lev, when, source = keys[position]
                position += 1
                if source < n.lines:
                    order_id = source // LINES_PER_ORDER + 1
                    events.append((when, -self.l_ship[source], "shipment", f"SO-{order_id:06d}"))
                else:
                    _l, _w, quantity, reference = self.receipts[source - n.lines]
                    events.append((when, quantity, "receipt", reference))
            yield lev, events

    def level_plan(self, lev: int, events) -> tuple[int, int, int]:
        """(target on hand, smallest opening stock, closing adjustment or 0)."""
        allocated = self.v_alloc[lev]
        released = self.release_levels.get(lev, 0)
        if released:
            target = allocated + released
        elif self.v_wait[lev]:
            target = allocated  # rule 3: nothing free while a line waits
        else:
            free = self.rng.choice((0, 0, 5, 12, 30, 60, 150, 400))
            target = allocated + free
        total = running = low = 0
        for _when, quantity, _kind, _ref in events:
            running += quantity
            low = min(low, running)
            total += quantity
        opening = max(1, -low, target - total)
        return target, opening, target - (opening + total)

    def write_levels_and_ledger(self, cur) -> None:
        from inventory.models import StockLevel, StockMovement

        n = self.n
        # Pass 1: how many movements the levels need as they are; the rest of the ledger budget
        # is spread over the levels as extra opening movements (stock counted in, in parts).
        plans = []
        natural = 0
        for lev, events in self.level_events():
            target, opening, closing = self.level_plan(lev, events)
            plans.append((target, opening, closing))
            natural += 1 + len(events) + (closing != 0)
        extra = n.ledger_rows - natural
        if extra < 0:
            raise RuntimeError(
                f"the natural ledger has {natural} rows, more than the {n.ledger_rows} wanted"
            )
        self.log(f"  ledger: {natural} movements from events, {extra} extra opening parts")

        def levels():
            for lev in range(n.levels):
                p, wh = lev // 3 + 1, lev % 3 + 1
                safety = (0, 0, 0, 5, 10, 20)[(p + wh) % 6] if p <= n.products // 10 else 0
                yield (lev + 1, p, wh, plans[lev][0], self.v_alloc[lev], safety, None, 0, 0)

        self.report.counts["stock_levels"] = _copy(
            cur,
            StockLevel._meta.db_table,
            (
                "id",
                "product_id",
                "warehouse_id",
                "on_hand",
                "allocated",
                "safety_stock",
                "reorder_point",
                "backordered",
                "on_order",
            ),
            levels(),
        )

        per_level, remainder = divmod(extra, n.levels)
        opening_time = self.at(3600)
        closing_time = self.at(self.horizon - 2 * 3600)

        def movements():
            movement_id = 0
            for lev, events in self.level_events():
                target, opening, closing = plans[lev]
                parts = per_level + (lev < remainder)
                # Split the opening count into 1 + parts movements; when the level had no
                # closing adjustment, one part becomes the closing adjustment instead.
                if parts:
                    if closing == 0 and opening < parts + 1:
                        opening = max(opening + 1, parts)
                        pieces = parts
                    else:
                        pieces = parts + 1
                    opening = max(opening, pieces)
                else:
                    pieces = 1
                total = sum(quantity for _when, quantity, _kind, _ref in events)
                closing = target - (opening + total)
                balance = 0
                share, spare = divmod(opening, pieces)
                for k in range(pieces):
                    quantity = share + (k < spare)
                    balance += quantity
                    movement_id += 1
                    yield (
                        movement_id,
                        lev + 1,
                        "count" if k == 0 else "adjustment",
                        quantity,
                        balance,
                        "Opening stock count" if k == 0 else "Found in recount",
                        "",
                        None,
                        opening_time + timedelta(minutes=k),
                    )
                released = self.release_levels.get(lev, 0)
                tail = []
                if released:
                    # The just-arrived shipment comes last, after the closing adjustment.
                    tail = [events.pop()]
                for when, quantity, kind, reference in events:
                    balance += quantity
                    movement_id += 1
                    yield (
                        movement_id,
                        lev + 1,
                        kind,
                        quantity,
                        balance,
                        "",
                        reference,
                        None,
                        self.at(when),
                    )
                if closing:
                    balance += closing
                    movement_id += 1
                    yield (
                        movement_id,
                        lev + 1,
                        "adjustment",
                        closing,
                        balance,
                        "Stock count correction",
                        "",
                        None,
                        closing_time,
                    )
                for when, quantity, kind, reference in tail:
                    balance += quantity
                    movement_id += 1
                    yield (
                        movement_id,
                        lev + 1,
                        kind,
                        quantity,
                        balance,
                        "",
                        reference,
                        None,
                        self.at(when),
                    )
                if balance != target:
                    raise RuntimeError(f"level {lev + 1}: ledger ends at {balance}, not {target}")

        self.report.counts["stock_movements"] = _copy(
            cur,
            StockMovement._meta.db_table,
            (
                "id",
                "level_id",
                "kind",
                "quantity",
                "balance_after",
                "reason",
                "reference",
                "created_by_id",
                "created_at",
            ),
            movements(),
        )
        self.report.counts["waiting_lines"] = n.waiting_lines
        self.report.counts["open_po_lines"] = n.open_po_lines

    def level_counters(self, cur) -> None:
        """Fill the levels' stored backordered and on-order counters from the lines written, as
        the orders and suppliers services keep them (check_stock verifies the result)."""
        from inventory.models import StockLevel
        from orders.models import OrderLine, SalesOrder
        from suppliers.models import OPEN_PO_STATUSES, PurchaseOrder, PurchaseOrderLine

        level = StockLevel._meta.db_table
        cur.execute(
            f"UPDATE {level} AS l SET backordered = w.units FROM ("
            f"SELECT ol.product_id, o.warehouse_id, SUM(ol.quantity_backordered) AS units "
            f"FROM {OrderLine._meta.db_table} ol JOIN {SalesOrder._meta.db_table} o "
            f"ON o.id = ol.order_id WHERE ol.quantity_backordered > 0 GROUP BY 1, 2) AS w "
            f"WHERE l.product_id = w.product_id AND l.warehouse_id = w.warehouse_id"
        )
        cur.execute(
            f"UPDATE {level} AS l SET on_order = s.units FROM ("
            f"SELECT pl.product_id, po.warehouse_id, "
            f"SUM(pl.quantity_ordered - pl.quantity_received) AS units "
            f"FROM {PurchaseOrderLine._meta.db_table} pl JOIN {PurchaseOrder._meta.db_table} po "
            f"ON po.id = pl.purchase_order_id WHERE po.status = ANY(%s) "
            f"AND pl.quantity_ordered > pl.quantity_received GROUP BY 1, 2) AS s "
            f"WHERE l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id",
            [[str(status) for status in OPEN_PO_STATUSES]],
        )

    def sequences(self, cur) -> None:
        from inventory.models import Product, StockLevel, StockMovement, Warehouse
        from orders.models import Allocation, Customer, OrderLine, SalesOrder
        from suppliers.models import (
            PurchaseOrder,
            PurchaseOrderLine,
            Shipment,
            ShipmentLine,
            Supplier,
            SupplierProduct,
        )

        for model in (
            Warehouse,
            Product,
            StockLevel,
            StockMovement,
            Supplier,
            SupplierProduct,
            PurchaseOrder,
            PurchaseOrderLine,
            Shipment,
            ShipmentLine,
            Customer,
            SalesOrder,
            OrderLine,
            Allocation,
        ):
            table = model._meta.db_table
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )


def today() -> date:
    return datetime.now(tz=UTC).date()


def seed_database(size: Size, url: str, *, reseed: bool, log=print) -> dict:
    """Make `url` a migrated database seeded at `size`: reuse it when its marker says so,
    otherwise (or with reseed) drop, create, migrate and seed it. Returns the seeding numbers,
    from this run or from the marker of the run that seeded it."""
    import json

    from . import common

    exists = common.database_exists(url)
    marker = common.marker_read(url) if exists else ""
    wanted = common.seed_marker(size)
    if exists and not reseed and marker.startswith(wanted + " "):
        log(f"Reusing {common.database_name(url)} (seeded at size {size.name}).")
        common.django_setup(url)
        if _migrate():
            # A migration that rewrites a table (a column's type) leaves it without statistics
            # until autovacuum gets to it; measure with them, as a live database soon has.
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
            log("  migrated the reused database, then vacuumed and analysed it")
        info = json.loads(marker[len(wanted) + 1 :])
        info["reused"] = True
        info["plan_seconds"] = _plan_refresh(log)
        return info
    if exists:
        log(f"Dropping {common.database_name(url)} to seed it again.")
        common.database_drop(url)
    common.database_create(url)
    common.django_setup(url)
    log(f"Migrating {common.database_name(url)}…")
    _migrate()
    log(f"Seeding size {size.name}…")
    from django.db import connection

    connection.ensure_connection()
    report = Seeder(size, log=log).run(connection.connection)
    vacuum_started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    vacuum_seconds = time.perf_counter() - vacuum_started
    log(f"  vacuum and analyze: {vacuum_seconds:.1f} s")
    info = {
        "size": size.name,
        "seeded_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 1),
        "vacuum_seconds": round(vacuum_seconds, 1),
        "peak_rss_mb": round(report.peak_rss_mb, 1),
        "counts": report.counts,
        "phases": [(name, round(seconds, 1)) for name, seconds in report.phases],
    }
    common.marker_write(url, f"{wanted} {json.dumps(info)}")
    info["reused"] = False
    info["plan_seconds"] = _plan_refresh(log)
    return info


def _plan_refresh(log) -> float:
    """Refresh the stored reorder plan of every level (as the nightly `plan_refresh` does), so
    the pages are measured on today's plan; returns its seconds."""
    from django.db import connection

    from planning.plan import plan_refresh_all

    started = time.perf_counter()
    plan_refresh_all()
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) planning_levelplan")
    log(f"  reorder plan of every level refreshed: {seconds:.1f} s")
    return round(seconds, 1)


def _migrate() -> bool:
    """Apply pending migrations; True when there were any."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", interactive=False, verbosity=0)
    return bool(pending)
