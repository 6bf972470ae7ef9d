"""Which of the project's own indexes the benchmark used, from PostgreSQL's statistics.

The counters are reset before the pages are measured and read after the last scenario, so each
index's scan count is what this run's pages, release, ordering and load test did with it. An
index nobody scanned is a candidate for removal; each one's reason is written beside it."""

from __future__ import annotations

from .common import row, scenario_result

PROJECT_APPS = ("inventory", "orders", "suppliers")

# Why each index exists: the query it serves. Names are the ones in the models' Meta.indexes.
WHY = {
    "product_name_idx": "stock list and look-ups sorted or searched by product name",
    "product_sku_idx": "stock list in SKU order reads one page of levels instead of sorting all",
    "stocklevel_wh_product_idx": "levels of one warehouse by product (filters, release locks)",
    "stocklevel_safety_set_idx": "partial: the few levels with a safety stock (home count, "
    "'below safety stock' filter)",
    "stockmovement_level_idx": "a level's ledger newest first (product detail, stock chart)",
    "salesorder_queue_idx": "queue order of waiting orders (priority, then age)",
    "salesorder_status_placed_idx": "orders by status in date order (orders list filters, home)",
    "salesorder_customer_idx": "a customer's orders newest first",
    "salesorder_placed_idx": "orders list newest first, id breaking ties between pages",
    "salesorder_waiting_idx": "partial: the waiting orders by warehouse (queue tests, age buckets)",
    "orderline_waiting_idx": "partial: the waiting lines of a product (queues, release)",
    "orderline_allocated_idx": "partial: lines holding allocated stock (shipping, check_stock)",
    "allocation_line_idx": "a line's allocation history in time order (order detail, history)",
    "dailydemand_day_idx": "the demand window's days (reorder dashboard, fill rate)",
    "supplierproduct_product_idx": "a product's supply terms (reorder terms, product detail)",
    "po_status_expected_idx": "open purchase orders by expected date (receiving, ETAs)",
    "po_supplier_status_idx": "a supplier's open purchase orders (supplier detail, drafting)",
    "poline_product_idx": "open purchase order lines of a product (on order, ETAs)",
}


def project_index_names() -> dict[str, str]:
    """Index name → table, for every index named in the project's models' Meta.indexes (the
    libraries' own indexes are theirs to justify)."""
    from django.apps import apps

    found = {}
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for index in model._meta.indexes:
            if index.name:
                found[index.name] = model._meta.db_table
    return found


def reset() -> bool:
    """Zero the statistics counters of the benchmark database (needs a superuser); False if
    that was refused, and the section then says so."""
    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_reset()")
    except DatabaseError:
        return False
    return True


def section(*, was_reset: bool) -> dict:
    from django.db import connection

    names = project_index_names()
    with connection.cursor() as cursor:
        # This process's own counts reach the shared statistics at its next flush; force it.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT 1")
        cursor.execute(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE indexrelname = ANY(%s)",
            [list(names)],
        )
        scans = dict(cursor.fetchall())
    rows = [
        row(
            f"{name} ({names[name]})",
            f"{scans[name]:,} scans" if name in scans else "missing",
            WHY.get(name, "(reason not written down)"),
        )
        for name in sorted(names)
    ]
    unused = sorted(name for name in names if scans.get(name, 0) == 0)
    notes = [
        "Scans are PostgreSQL's idx_scan counters over this run (pages, EXPLAIN, release, "
        "ordering and the load test), reset when the pages started."
        if was_reset
        else "The statistics could not be reset (not a superuser): the counts include earlier "
        "activity on this database.",
    ]
    if unused:
        notes.append(
            "Not scanned in this run: " + ", ".join(unused) + ". Their queries are not among the "
            "benchmark's (see the reason beside each), or the planner chose another path here."
        )
    result = scenario_result("Indexes and their use in this run", rows, notes)
    result["headers"] = ("Index (table)", "Scans in this run", "What it serves", "")
    return result
