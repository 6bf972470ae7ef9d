"""Read-only checks that the stored stock, orders and receipts agree with each other.

`stock_discrepancies()` verifies DESIGN.md rules 1 and 2 on the live database, plus the bookkeeping
those rules rest on: allocation history, receipts, order statuses, the stored daily demand and the
levels' stored backordered and on-order counters. Each check is one set-based
query (an aggregate, a join or a correlated subquery served by an index) that returns only the rows
that are wrong, so the cost grows with the size of the tables, never with a query per row; on a
healthy database every check returns nothing.

It lives in the top app because it reads every app's rows directly: a cross-app consistency check
must look at the rows themselves rather than at the selectors, whose job is to trust them.
`levels` checks the stock levels, `documents` the order and purchase documents.
"""

from __future__ import annotations

from .base import Check, Discrepancy
from .documents import (
    daily_demand_mismatches,
    line_bound_violations,
    line_history_mismatches,
    order_status_mismatches,
    receipt_mismatches,
)
from .levels import (
    ledger_balance_mismatches,
    ledger_sum_mismatches,
    level_allocation_mismatches,
    level_backordered_mismatches,
    level_bound_violations,
    level_counters_rebuild,
    level_missing_violations,
    level_on_order_mismatches,
    plan_mismatches,
)

CHECKS: tuple[Check, ...] = (
    Check("ledger_sum", "on hand equals the sum of the level's movements", ledger_sum_mismatches),
    Check(
        "ledger_balance",
        "the latest movement's balance after equals on hand",
        ledger_balance_mismatches,
    ),
    Check("level_bounds", "0 ≤ allocated ≤ on hand", level_bound_violations),
    Check(
        "level_allocated",
        "a level's allocated equals the sum over its order lines",
        level_allocation_mismatches,
    ),
    Check(
        "line_allocations",
        "a line's allocated and shipped agree with its allocation records",
        line_history_mismatches,
    ),
    Check("line_bounds", "allocated + shipped + cancelled ≤ ordered", line_bound_violations),
    Check(
        "po_received",
        "a purchase order line's received equals its shipment lines",
        receipt_mismatches,
    ),
    Check("order_status", "an order's status agrees with its lines", order_status_mismatches),
    Check(
        "level_backordered",
        "a level's backordered equals the units waiting on its order lines",
        level_backordered_mismatches,
    ),
    Check(
        "level_on_order",
        "a level's on order equals what its open purchase order lines still expect",
        level_on_order_mismatches,
    ),
    Check(
        "level_missing",
        "every product × warehouse that lines wait for or purchase orders bring has a level",
        level_missing_violations,
    ),
    Check(
        "daily_demand",
        "the stored daily demand equals its recomputation from the order lines",
        daily_demand_mismatches,
    ),
    Check(
        "plan",
        "the stored reorder plan equals its recomputation (and copies its levels' counters)",
        plan_mismatches,
    ),
)


def stock_discrepancies() -> list[Discrepancy]:
    """Everything that breaks rules 1–2 or the bookkeeping behind them; empty when consistent.
    One query per check, whatever the size of the database."""
    return [discrepancy for check in CHECKS for discrepancy in check.run()]


__all__ = [
    "CHECKS",
    "Check",
    "Discrepancy",
    "daily_demand_mismatches",
    "ledger_balance_mismatches",
    "ledger_sum_mismatches",
    "level_allocation_mismatches",
    "level_backordered_mismatches",
    "level_bound_violations",
    "level_counters_rebuild",
    "level_missing_violations",
    "level_on_order_mismatches",
    "line_bound_violations",
    "line_history_mismatches",
    "order_status_mismatches",
    "plan_mismatches",
    "receipt_mismatches",
    "stock_discrepancies",
]
