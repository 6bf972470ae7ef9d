"""Reads behind the reorder dashboard: suggestions per product × warehouse, KPIs and chart series.

`suggestions` holds the per-level calculation, `kpis` the dashboard totals and histories; the
formulas themselves are in `inventory.planning`.
"""

from planning.selectors.kpis import (
    KPI_DEFINITIONS,
    backordered_units_history,
    reorder_kpis,
    supplier_lead_time_chart,
)
from planning.selectors.screen import ScreenPage, screen_page
from planning.selectors.suggestions import (
    NO_DEMAND,
    NO_SUPPLIER,
    NOT_PREFERRED,
    ReorderRow,
    demand_window,
    reorder_suggestions,
    rows_in_order,
    suggestions_for,
)

__all__ = [
    "KPI_DEFINITIONS",
    "NOT_PREFERRED",
    "NO_DEMAND",
    "NO_SUPPLIER",
    "ReorderRow",
    "ScreenPage",
    "backordered_units_history",
    "demand_window",
    "reorder_kpis",
    "reorder_suggestions",
    "rows_in_order",
    "screen_page",
    "suggestions_for",
    "supplier_lead_time_chart",
]
