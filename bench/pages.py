"""Every page, warm, through the Django test client in this process: queries per request and
p50 / p95 server time; then EXPLAIN (ANALYZE, BUFFERS) of the hot queries, taken from the SQL the
pages themselves ran (never re-typed here, so the plans are of the real queries)."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .common import row, scenario_result

QUERY_TARGET = 15
P50_TARGET_MS = 200.0
P95_TARGET_MS = 400.0
# A page slower than this gets fewer timed requests so one slow page cannot take the whole run.
PAGE_BUDGET_SECONDS = 60.0
MIN_REPEATS = 3
# Whole-table exports are files, not pages: every level, every suggestion, each within its own
# limit (the issue's), with queries that do not grow with the rows.
STOCK_CSV_TARGET_MS = 2000.0
REORDER_CSV_TARGET_MS = 3000.0


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    role: str  # "staff" or "manager"
    # A whole-table export's own time limit (p50 and p95), in place of a page's.
    export_target_ms: float | None = None


@dataclass
class PageResult:
    page: Page
    status: int = 0
    queries: list[int] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)
    captured: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms) if self.times_ms else float("nan")

    @property
    def p95(self) -> float:
        if not self.times_ms:
            return float("nan")
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def max_queries(self) -> int:
        return max(self.queries) if self.queries else 0

    @property
    def met(self) -> bool:
        p50_target = self.page.export_target_ms or P50_TARGET_MS
        p95_target = self.page.export_target_ms or P95_TARGET_MS
        return (
            not self.error
            and self.max_queries <= QUERY_TARGET
            and self.p50 <= p50_target
            and self.p95 <= p95_target
        )


def _one(sql: str, params=()) -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
    return found[0] if found else None


def discover() -> dict:
    """The ids the pages are measured on, chosen from the seeded data."""
    from django.db import connection

    ids = {
        # The busiest product: the most lines waiting.
        "product": _one(
            "SELECT product_id FROM orders_orderline WHERE quantity_backordered > 0"
            " GROUP BY product_id ORDER BY count(*) DESC, product_id LIMIT 1"
        ),
        # The newest order with a line waiting.
        "order": _one("SELECT max(order_id) FROM orders_orderline WHERE quantity_backordered > 0"),
        # An open purchase order with the most lines, to receive and to show.
        "purchase_order": _one(
            "SELECT po.id FROM suppliers_purchaseorder po"
            " JOIN suppliers_purchaseorderline l ON l.purchase_order_id = po.id"
            " WHERE po.status = 'sent' GROUP BY po.id ORDER BY count(*) DESC, po.id LIMIT 1"
        ),
        # The largest shipment: the release review after a big delivery.
        "shipment": _one(
            "SELECT shipment_id FROM suppliers_shipmentline GROUP BY shipment_id"
            " ORDER BY count(*) DESC, shipment_id DESC LIMIT 1"
        ),
    }
    ids["supplier"] = _one(
        "SELECT supplier_id FROM suppliers_purchaseorder WHERE id = %s", [ids["purchase_order"]]
    )
    # The longest histories: the product with the most ledger rows, the order and the purchase
    # order with the most lines.
    ids["history_product"] = _one(
        "SELECT l.product_id FROM inventory_stockmovement m"
        " JOIN inventory_stocklevel l ON l.id = m.level_id"
        " GROUP BY l.product_id ORDER BY count(*) DESC, l.product_id LIMIT 1"
    )
    ids["history_order"] = _one(
        "SELECT order_id FROM orders_orderline GROUP BY order_id"
        " ORDER BY count(*) DESC, order_id DESC LIMIT 1"
    )
    ids["history_purchase_order"] = _one(
        "SELECT purchase_order_id FROM suppliers_purchaseorderline GROUP BY purchase_order_id"
        " ORDER BY count(*) DESC, purchase_order_id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT po.warehouse_id, pol.product_id FROM suppliers_shipmentline sl"
            " JOIN suppliers_purchaseorderline pol ON pol.id = sl.purchase_order_line_id"
            " JOIN suppliers_purchaseorder po ON po.id = pol.purchase_order_id"
            " WHERE sl.shipment_id = %s ORDER BY pol.product_id",
            [ids["shipment"]],
        )
        shipment_rows = cursor.fetchall()
    ids["shipment_warehouse"] = shipment_rows[0][0] if shipment_rows else None
    ids["shipment_products"] = [product for _wh, product in shipment_rows]
    return ids


def pages_for(ids: dict) -> list[Page]:
    release_query = "&".join(
        [f"warehouse={ids['shipment_warehouse']}", f"shipment={ids['shipment']}"]
        + [f"product={p}" for p in ids["shipment_products"]]
    )
    return [
        Page("home", "Home", "/", "staff"),
        Page("stock", "Stock list", "/stock/", "staff"),
        Page(
            "stock_filtered",
            "Stock list, filtered (warehouse, has backorders)",
            "/stock/?warehouse=1&has_backorders=on",
            "staff",
        ),
        Page("stock_search", "Stock list, searched by SKU", "/stock/?search=BN-0001", "staff"),
        Page(
            "product", "Product detail (busiest product)", f"/products/{ids['product']}/", "staff"
        ),
        Page("backorders", "Backorders", "/backorders/", "staff"),
        Page("receiving", "Receiving list", "/receiving/", "staff"),
        Page(
            "receive",
            "Receive form",
            f"/purchase-orders/{ids['purchase_order']}/receive/",
            "staff",
        ),
        Page(
            "release",
            f"Release review ({len(ids['shipment_products'])}-product shipment)",
            f"/releases/review/?{release_query}",
            "staff",
        ),
        Page("orders", "Orders list", "/orders/", "staff"),
        Page("order", "Order detail", f"/orders/{ids['order']}/", "staff"),
        Page("order_create", "Order create", "/orders/new/", "staff"),
        Page("suppliers", "Suppliers list", "/suppliers/", "manager"),
        Page("supplier", "Supplier detail", f"/suppliers/{ids['supplier']}/", "manager"),
        Page("purchase_orders", "Purchase orders list", "/purchase-orders/", "manager"),
        Page(
            "purchase_order",
            "Purchase order detail",
            f"/purchase-orders/{ids['purchase_order']}/",
            "manager",
        ),
        Page(
            "purchase_order_create",
            "Purchase order create (supplier preselected)",
            f"/purchase-orders/new/?supplier={ids['supplier']}",
            "manager",
        ),
        Page("reorder", "Reorder dashboard", "/reorder/", "manager"),
        Page(
            "product_history",
            "Product history (most ledger rows)",
            f"/products/{ids['history_product']}/history/",
            "manager",
        ),
        Page(
            "product_history_deep",
            "Product history, page 20",
            f"/products/{ids['history_product']}/history/?page=20",
            "manager",
        ),
        Page(
            "order_history",
            "Order history (most lines)",
            f"/orders/{ids['history_order']}/history/",
            "manager",
        ),
        Page(
            "purchase_order_history",
            "Purchase order history (most lines)",
            f"/purchase-orders/{ids['history_purchase_order']}/history/",
            "manager",
        ),
        Page(
            "stock_csv",
            "Stock CSV export (all levels)",
            "/stock/?_export=csv",
            "staff",
            export_target_ms=STOCK_CSV_TARGET_MS,
        ),
        Page(
            "reorder_csv",
            "Reorder suggestions CSV export",
            "/reorder/?_export=csv",
            "manager",
            export_target_ms=REORDER_CSV_TARGET_MS,
        ),
    ]


def _consume(response) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def _request(client, path: str) -> tuple[int, float, list[dict]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        started = time.perf_counter()
        # As over HTTPS: with debug off the settings redirect plain HTTP.
        response = client.get(path, secure=True)
        _consume(response)
        elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, elapsed, list(context.captured_queries)


_test_environment_ready = False


def measure_pages(
    *, repeats: int, log=print, only: list[Page] | None = None
) -> tuple[list[PageResult], dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment

    from .seed import MANAGER_USERNAME, STAFF_USERNAME

    global _test_environment_ready
    if not _test_environment_ready:  # Django allows it once per process
        setup_test_environment()
        _test_environment_ready = True
    users = get_user_model().objects
    clients = {}
    for role, username in (("staff", STAFF_USERNAME), ("manager", MANAGER_USERNAME)):
        client = Client()
        client.force_login(users.get(username=username))
        clients[role] = client
    ids = {} if only else discover()
    results = []
    for page in only or pages_for(ids):
        result = PageResult(page)
        client = clients[page.role]
        status, warm_ms, _ = _request(client, page.path)  # warm-up, discarded
        result.status = status
        if status != 200:
            result.error = f"HTTP {status}"
            log(f"  {page.title}: HTTP {status}")
            results.append(result)
            continue
        count = repeats
        if warm_ms / 1000 * repeats > PAGE_BUDGET_SECONDS:
            count = max(MIN_REPEATS, int(PAGE_BUDGET_SECONDS / (warm_ms / 1000)))
        for _ in range(count):
            status, elapsed, captured = _request(client, page.path)
            result.times_ms.append(elapsed)
            result.queries.append(len(captured))
            result.captured = captured
        log(
            f"  {page.title}: {result.max_queries} queries, p50 {result.p50:.0f} ms,"
            f" p95 {result.p95:.0f} ms ({count} requests)"
        )
        results.append(result)
    return results, ids


def measure_release_detail(*, repeats: int, log=print) -> list[PageResult]:
    """The page of the largest confirmed release, first and last pages. The seeded data holds no
    release, so this runs after the release scenario has confirmed one of 20,000 lines."""
    release = _one(
        "SELECT release_id FROM orders_allocation WHERE release_id IS NOT NULL"
        " GROUP BY release_id ORDER BY count(*) DESC, release_id LIMIT 1"
    )
    if release is None:
        return []
    lines = _one("SELECT count(*) FROM orders_allocation WHERE release_id = %s", [release]) or 0
    last = max(1, -(-lines // 50))
    return measure_pages(
        repeats=repeats,
        log=log,
        only=[
            Page(
                "release_detail",
                f"Release detail ({lines:,} lines released)",
                f"/releases/{release}/",
                "staff",
            ),
            Page(
                "release_detail_deep",
                "Release detail, last page of its lines",
                f"/releases/{release}/?page={last}",
                "staff",
            ),
        ],
    )[0]


def pages_section(results: list[PageResult], repeats: int) -> dict:
    rows = []
    for result in results:
        if result.error:
            rows.append(
                {
                    "key": result.page.key,
                    "page": result.page.title,
                    "path": result.page.path,
                    "queries": "—",
                    "p50_ms": "—",
                    "p95_ms": "—",
                    "requests": 0,
                    "met": False,
                    "error": result.error,
                }
            )
            continue
        queries = sorted(set(result.queries))
        rows.append(
            {
                "key": result.page.key,
                "page": result.page.title,
                "path": result.page.path,
                "queries": str(queries[0]) if len(queries) == 1 else f"{queries[0]}–{queries[-1]}",
                "p50_ms": f"{result.p50:.0f}",
                "p95_ms": f"{result.p95:.0f}",
                "requests": len(result.times_ms),
                "met": result.met,
                "error": "",
                "slowest_query_ms": round(
                    max((float(q["time"] or 0) for q in result.captured), default=0) * 1000, 1
                ),
            }
        )
    notes = [
        f"Each page: one discarded warm-up request, then {repeats} timed requests (fewer, at least "
        f"{MIN_REPEATS}, when a page would take over {PAGE_BUDGET_SECONDS:.0f} s; the Requests "
        "column says how many). Time is server time in process, from the request to the last "
        "byte of the body (CSV exports are streamed to the end).",
        f"Targets: at most {QUERY_TARGET} queries, p50 ≤ {P50_TARGET_MS:.0f} ms, "
        f"p95 ≤ {P95_TARGET_MS:.0f} ms; the whole-table CSV exports within their own limits, "
        f"p50 and p95: the stock's ≤ {STOCK_CSV_TARGET_MS / 1000:.0f} s, the reorder "
        f"suggestions' ≤ {REORDER_CSV_TARGET_MS / 1000:.0f} s.",
    ]
    return {"title": "Pages", "pages": rows, "notes": notes}


# --- EXPLAIN of the hot queries --------------------------------------------------------------


@dataclass(frozen=True)
class HotQuery:
    title: str
    page: str
    matches: Callable[[str], bool]


def _has(*needles: str) -> Callable[[str], bool]:
    return lambda sql: all(needle in sql for needle in needles)


HOT_QUERIES = (
    HotQuery("Stock overview page query", "stock", _has('FROM "inventory_stocklevel"', "LIMIT")),
    HotQuery(
        "Backorder queue for a product (product detail)",
        "product",
        _has('FROM "orders_orderline"', "quantity_backordered"),
    ),
    HotQuery("Backorder list (all queues)", "backorders", _has('FROM "orders_orderline"', "LIMIT")),
    HotQuery(
        "Release queue read (release review)",
        "release",
        _has('FROM "orders_orderline"', "quantity_backordered"),
    ),
    HotQuery("Orders list", "orders", _has('FROM "orders_salesorder"', "LIMIT")),
    HotQuery(
        "Reorder screen (the page's rows, the list's and groups' totals, the catalogue's KPIs)",
        "reorder",
        _has('"orders_dailydemand"', "candidates"),
    ),
    HotQuery(
        "Backordered units history (reorder dashboard)",
        "reorder",
        _has('"orders_allocation"', "UNION"),
    ),
)

KEY_LINE = re.compile(
    r"Scan|Join|Nested Loop|Sort|Aggregate|Limit|Gather|Hash|Memoize|Materialize|Unique|"
    r"SubPlan|InitPlan|CTE|Planning Time|Execution Time|Index Cond|Rows Removed"
)
COST = re.compile(r"\s*\(cost=[^)]*\)")
MAX_KEY_LINES = 18


def key_lines(plan: list[str]) -> list[str]:
    """The lines that say how the query ran: node types with index names, rows and times."""
    kept = [COST.sub("", line.rstrip()) for line in plan if KEY_LINE.search(line)]
    if len(kept) > MAX_KEY_LINES:
        kept = [*kept[: MAX_KEY_LINES - 2], "  …", *kept[-2:]]
    return kept


def shorten(sql: str, limit: int = 600) -> str:
    """The SQL from its first FROM on (the column list says little), cut to a readable length."""
    start = sql.find(" FROM ")
    text = ("SELECT …" + sql[start:]) if start > 0 else sql
    return text if len(text) <= limit else text[:limit] + " …"


def explain(sql: str) -> list[str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [found[0] for found in cursor.fetchall()]
        transaction.set_rollback(True)
    return lines


def explain_section(results: list[PageResult], log=print) -> dict:
    by_key = {result.page.key: result for result in results}
    wanted = list(HOT_QUERIES)
    # Also the slowest query of every page that misses its target, for the work on those pages.
    wanted += [
        HotQuery(f"Slowest query of {result.page.title}", result.page.key, None)
        for result in results
        if not result.met and result.captured
    ]
    plans = []
    for hot in wanted:
        result = by_key.get(hot.page)
        candidates = [
            query
            for query in (result.captured if result else [])
            # A union the ORM writes starts with a parenthesis.
            if query["sql"].lstrip(" (").upper().startswith(("SELECT", "WITH"))
            and (hot.matches is None or hot.matches(query["sql"]))
        ]
        if not candidates:
            plans.append({"title": hot.title, "sql": "", "lines": [], "note": "not found"})
            continue
        query = max(candidates, key=lambda q: float(q["time"] or 0))
        try:
            lines = key_lines(explain(query["sql"]))
            note = ""
        except Exception as error:  # recorded in the report, not fatal
            lines, note = [], f"EXPLAIN failed: {error}"
        log(f"  EXPLAIN {hot.title}: {lines[-1].strip() if lines else note}")
        plans.append(
            {
                "title": hot.title,
                "sql": shorten(query["sql"]),
                "lines": lines,
                "note": note,
            }
        )
    return {"title": "EXPLAIN (ANALYZE, BUFFERS) of the hot queries", "plans": plans}


def summary_rows(results: list[PageResult]) -> list[dict]:
    """The pages as generic report rows (for scenario-style consumers)."""
    return [
        row(
            result.page.title,
            result.error
            or f"{result.max_queries} queries, p50 {result.p50:.0f} ms, p95 {result.p95:.0f} ms",
            f"≤ {QUERY_TARGET} queries, p50 ≤ {P50_TARGET_MS:.0f} ms, p95 ≤ {P95_TARGET_MS:.0f} ms",
            result.met,
        )
        for result in results
    ]


__all__ = ["explain_section", "measure_pages", "pages_section", "scenario_result"]
