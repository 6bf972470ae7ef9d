"""The reorder suggestions as CSV: every number of a row, its formula and inputs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from common.exports import csv_pieces
from planning.working import qty

CSV_HEADER = (
    "supplier",
    "sku",
    "product",
    "warehouse",
    "on_hand",
    "allocated",
    "available",
    "backordered",
    "on_order",
    "projected",
    "safety_stock",
    "suggested_safety_stock",
    "safety_stock_formula",
    "safety_stock_exact",
    "service_level",
    "z",
    "daily_demand",
    "daily_demand_stdev",
    "lead_time_days",
    "lead_time_stdev",
    "lead_time_demand",
    "review_demand",
    "reorder_point",
    "reorder_point_manual",
    "suggested_qty",
    "pack_size",
    "min_order_qty",
    "unit_cost",
    "line_value",
    "eoq",
    "urgent",
)


def csv_rows(rows: Iterable) -> Iterator[tuple]:
    """The header, then one tuple per suggestion; produced lazily for a streamed response."""
    yield CSV_HEADER
    for row in rows:
        safety = row.safety_stock_result
        yield (
            row.supplier_name or "",
            row.sku,
            row.name,
            row.warehouse_code,
            row.on_hand,
            row.allocated,
            row.available,
            row.backordered,
            row.on_order,
            row.projected,
            row.safety_stock,
            row.suggested_safety_stock,
            safety.formula,
            f"{safety.value:.2f}",
            f"{float(row.service_level):.4f}",
            f"{float(row.z):.3f}",
            f"{float(row.d):.3f}",
            f"{float(row.sigma_d):.3f}",
            qty(row.lead_time_days),
            f"{float(row.sigma_lead_time or 0):.3f}",
            row.lead_demand,
            row.review_demand,
            row.rop,
            "yes" if row.rop_is_manual else "no",
            row.suggested_qty,
            row.pack_size,
            row.min_order_qty,
            "" if row.unit_cost is None else f"{Decimal(row.unit_cost):.2f}",
            "" if row.line_value is None else f"{Decimal(row.line_value):.2f}",
            "" if row.eoq_units is None else row.eoq_units,
            "yes" if row.urgent else "no",
        )


def csv_text(rows: Iterable) -> Iterator[str]:
    """`csv_rows` written as CSV text, a few hundred rows per piece."""
    return csv_pieces(csv_rows(rows))
