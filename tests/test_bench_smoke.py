"""Smoke test of the benchmark code: `python -m bench` end to end at the tiny size XS, in a
throwaway PostgreSQL database, checking what it seeded and the report it wrote. Timing is never
asserted here; that is the benchmark's own business."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench.common import database_drop, libpq_conninfo, size_get, with_database
from bench.seed import Counts

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
PAGE_TITLES = (
    "Home",
    "Stock list",
    "Stock list, filtered",
    "Stock list, searched by SKU",
    "Product detail",
    "Backorders",
    "Receiving list",
    "Receive form",
    "Release review",
    "Orders list",
    "Order detail",
    "Order create",
    "Suppliers list",
    "Supplier detail",
    "Purchase orders list",
    "Purchase order detail",
    "Purchase order create",
    "Reorder dashboard",
    "Product history (most ledger rows)",
    "Product history, page 20",
    "Order history",
    "Purchase order history",
    "Stock CSV export",
    "Reorder suggestions CSV export",
    # Measured after the release scenario, on the release it confirmed.
    "Release detail (",
    "Release detail, last page",
)
PAGE_ROW = re.compile(
    r"^\| (?P<title>[^|]+?) \| `[^`]*` \| (?P<queries>\d+(?:–\d+)?) \| (?P<p50>\d+) "
    r"\| (?P<p95>\d+) \| (?P<requests>\d+) \| (?P<met>met|\*\*not met\*\*) \|$"
)


@pytest.fixture
def bench_url():
    server = os.environ.get("DATABASE_URL", "")
    url = with_database(server, f"h_bench_{secrets.token_hex(4)}")
    yield url
    database_drop(url)


def _count(conn, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def test_bench_seeds_measures_and_reports_at_size_xs(bench_url, tmp_path):
    report = tmp_path / "performance.md"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "bench",
            "--size",
            "XS",
            "--database-url",
            bench_url,
            "--output",
            str(report),
            "--reseed",
            "--skip",
            "load",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # What was seeded: exact counts for size XS, as recorded while seeding.
    expected = Counts.for_size(size_get("XS"))
    data = json.loads(report.with_suffix(".json").read_text())
    seeding = next(s for s in data["sections"] if s["title"] == "Seeding")
    seeded = {
        r["metric"].removeprefix("Rows: "): int(r["value"].replace(",", ""))
        for r in seeding["rows"]
        if r["metric"].startswith("Rows: ")
    }
    assert seeded["products"] == expected.products == 200
    assert seeded["stock levels"] == 600
    assert seeded["supply terms"] == 300
    assert seeded["orders"] == 400
    assert seeded["order lines"] == 1200
    assert seeded["stock movements"] == 2000

    # The database itself. The scenarios that run after the pages add data of their own, so the
    # seeded rows are counted by their seeded names and keys.
    with psycopg.connect(libpq_conninfo(bench_url)) as conn:
        for sql, expected_count in (
            ("SELECT count(*) FROM inventory_product WHERE sku LIKE 'BN-%'", 200),
            (
                "SELECT count(*) FROM inventory_stocklevel sl JOIN inventory_product p"
                " ON p.id = sl.product_id WHERE p.sku LIKE 'BN-%'",
                600,
            ),
            ("SELECT count(*) FROM suppliers_supplier WHERE name LIKE 'Supplier %'", 10),
            (
                "SELECT count(*) FROM suppliers_supplierproduct t JOIN inventory_product p"
                " ON p.id = t.product_id WHERE p.sku LIKE 'BN-%'",
                300,
            ),
        ):
            assert _count(conn, sql) == expected_count, sql
        assert _count(conn, "SELECT count(*) FROM orders_salesorder WHERE id <= 400") == 400
        # Rule 3 holds except at the levels of the one large shipment that waits for release.
        jumped = _count(
            conn,
            "SELECT count(*) FROM inventory_stocklevel sl WHERE sl.on_hand > sl.allocated"
            " AND EXISTS (SELECT 1 FROM orders_orderline l JOIN orders_salesorder o"
            " ON o.id = l.order_id WHERE l.product_id = sl.product_id"
            " AND o.warehouse_id = sl.warehouse_id AND l.quantity_backordered > 0)",
        )
        assert jumped <= expected.release_products

    # check_stock on the benchmark database, after everything the run did to it.
    checked = subprocess.run(
        [sys.executable, "manage.py", "check_stock"],
        cwd=ROOT,
        env=dict(env, DATABASE_URL=bench_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The report: the integrity line, and every page with its numbers.
    text = report.read_text()
    assert "| check_stock discrepancies | 0 | 0 | met |" in text
    pages_part = text.split("## Pages", 1)[1].split("\n## ", 1)[0]
    rows = [m for line in pages_part.splitlines() if (m := PAGE_ROW.match(line))]
    titles = [m["title"] for m in rows]
    for title in PAGE_TITLES:
        assert any(t.startswith(title) for t in titles), f"{title} missing from {titles}"
    assert len(rows) == len(PAGE_TITLES)
    for match in rows:
        assert int(match["queries"].split("–")[-1]) > 0
        assert int(match["requests"]) >= 1
        assert int(match["p95"]) >= int(match["p50"])
    assert "## EXPLAIN (ANALYZE, BUFFERS) of the hot queries" in text
    assert "Execution Time" in text
    assert "## Targets not met" in text

    # Every index the models name, with this run's scans: the pages scanned the SKU order index.
    indexes_part = text.split("## Indexes and their use in this run", 1)[1].split("\n## ", 1)[0]
    scans = dict(re.findall(r"^\| (\w+_idx) \([a-z_]+\) \| ([\d,]+) scans \|", indexes_part, re.M))
    assert "product_sku_idx" in scans
    assert int(scans["product_sku_idx"].replace(",", "")) > 0
    assert "stocklevel_safety_set_idx" in scans
