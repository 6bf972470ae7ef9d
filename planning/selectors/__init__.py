"""Reads behind the reorder dashboard: suggestions per product × warehouse, KPIs and chart series.

`inputs` reads what each level brings to its suggestion, `screen` finds the suggested levels (and
the list's totals) in the database, `suggestions` computes each row with its working, `kpis` the dashboard's totals and histories, `dashboard` puts one page
together; the formulas themselves are in `planning.formulas`.
"""

from planning.selectors.dashboard import (
    PageRow,
    SuggestionPages,
    SupplierGroup,
    suggestions_csv_rows,
)
from planning.selectors.inputs import LevelInputs, SupplyTerm, level_inputs
from planning.selectors.kpis import (
    KPI_DEFINITIONS,
    backordered_units_history,
    reorder_kpis,
    supplier_lead_time_chart,
)
from planning.selectors.screen import (
    CatalogueTotals,
    GroupTotals,
    ScreenPage,
    screen_page,
    screen_rows,
)
from planning.selectors.suggestions import (
    NO_DEMAND,
    NO_SUPPLIER,
    NOT_PREFERRED,
    ReorderRow,
    reorder_suggestions,
    rows_from_inputs,
    suggestions_for,
)
from planning.window import day_start, demand_window

__all__ = [
    "KPI_DEFINITIONS",
    "NOT_PREFERRED",
    "NO_DEMAND",
    "NO_SUPPLIER",
    "CatalogueTotals",
    "GroupTotals",
    "LevelInputs",
    "PageRow",
    "ReorderRow",
    "ScreenPage",
    "SuggestionPages",
    "SupplierGroup",
    "SupplyTerm",
    "backordered_units_history",
    "day_start",
    "demand_window",
    "level_inputs",
    "reorder_kpis",
    "reorder_suggestions",
    "rows_from_inputs",
    "screen_page",
    "screen_rows",
    "suggestions_csv_rows",
    "suggestions_for",
    "supplier_lead_time_chart",
]
