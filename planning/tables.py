"""The reorder suggestions as a table grouped by preferred supplier, the working shown for every
computed number, and the same rows as CSV.

Rows are `inventory.reorder.ReorderRow`s (a list, already sorted by supplier, warehouse and SKU).
The table template (`planning/_reorder_table.html`) starts a group with a header row whenever the
supplier changes, and follows each suggestion with a collapsed row that shows how its safety
stock, reorder point and quantity were worked out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import django_tables2 as tables
from django.conf import settings
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}
NO_SUPPLIER = "No supplier"


def money(value) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def qty(value) -> str:
    """A computed quantity: whole numbers as such, the rest with one decimal."""
    if value is None:
        return "—"
    value = float(value)
    return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"


def rate(value, places: int = 2) -> str:
    return "—" if value is None else f"{float(value):,.{places}f}"


def percent(value) -> str:
    """A service level as people say it: 95 %, 97.5 %."""
    value = float(value) * 100
    return f"{value:.0f} %" if value.is_integer() else f"{value:.1f} %"


# --- the working behind each number ----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of working: what, the formula, the numbers put in, the result."""

    label: str
    formula: str
    working: str
    result: str


def _safety_result(row):
    return row.safety_stock_result


def _lead_time_source(row) -> str:
    if row.supplier_id is None:
        return "no supplier, so no lead time (L = 0)"
    source = f"promised by {row.supplier_name}"
    if not getattr(row, "supplier_is_preferred", True):
        source += " (not marked preferred; the quickest active supplier)"
    samples = getattr(row, "lead_time_samples", 0)
    if row.sigma_lead_time:
        source += f"; σL from {samples} measured deliveries"
    elif samples:
        source += (
            f"; {samples} measured deliver{'ies' if samples != 1 else 'y'} (σL needs 2 that vary)"
        )
    return source


def _service_level_source(row) -> str:
    default = float(settings.BACKSTOCK_SERVICE_LEVEL)
    if abs(float(row.service_level) - default) > 1e-9:
        return f"{percent(row.service_level)} (set on the product)"
    return f"{percent(row.service_level)} (default)"


def explanation(row) -> list[Step]:
    """How the row's safety stock, reorder point, quantity and EOQ follow from its inputs, with
    the numbers substituted so a planner can redo them by hand."""
    d, sigma_d = float(row.d), float(row.sigma_d)
    lead, sigma_lead = float(row.lead_time_days), float(row.sigma_lead_time or 0)
    z = float(row.z)
    safety = _safety_result(row)
    steps = [
        Step(
            "Daily demand",
            "d = mean, σd = sample standard deviation of the units ordered each day",
            f"{row.demand_days} days up to today; days without orders count as 0",
            f"d = {rate(d)}, σd = {rate(sigma_d)}",
        ),
        Step(
            "Lead time",
            "L = promised days of the preferred supply term"
            + (", σL measured from past deliveries" if sigma_lead else ""),
            _lead_time_source(row),
            f"L = {qty(lead)} days" + (f", σL = {rate(sigma_lead)} days" if sigma_lead else ""),
        ),
        Step(
            "Service level",
            "z = standard normal quantile of the service level",
            _service_level_source(row),
            f"z = {rate(z, 3)}",
        ),
    ]
    if sigma_lead:
        working = (
            f"{rate(z, 3)} × √({qty(lead)} × {rate(sigma_d)}² + {rate(d)}² × {rate(sigma_lead)}²)"
        )
    else:
        working = f"{rate(z, 3)} × {rate(sigma_d)} × √{qty(lead)}"
    steps.append(
        Step(
            "Safety stock",
            f"SS = {safety.formula}",
            f"{working} = {rate(safety.value, 1)}",
            f"suggested {row.suggested_safety_stock:,} (rounded up); now {row.safety_stock:,}",
        )
    )
    if row.rop_is_manual:
        steps.append(
            Step(
                "Reorder point",
                "manual value set on the stock level",
                "the computed d × L + SS is not used",
                f"ROP = {qty(row.rop)}",
            )
        )
    else:
        steps.append(
            Step(
                "Reorder point",
                "ROP = d × L + SS",
                f"{rate(d)} × {qty(lead)} + {rate(safety.value, 1)}",
                f"ROP = {rate(row.rop, 1)}",
            )
        )
    days = row.review_days
    if row.projected > row.rop:
        quantity_working = f"projected {row.projected:,} is above ROP {rate(row.rop, 1)}"
    else:
        target = float(row.rop) + d * days
        quantity_working = (
            f"projected {row.projected:,} ≤ ROP; target {rate(row.rop, 1)} + {rate(d)} × {days} "
            f"= {rate(target, 1)}; short by {rate(max(0.0, target - row.projected), 1)}; "
            f"packs of {row.pack_size:,}, at least {row.min_order_qty:,}"
        )
    steps.append(
        Step(
            "Suggested quantity",
            f"up to ROP + d × {days}-day review, rounded up to the pack, at least the minimum",
            quantity_working,
            f"{row.suggested_qty:,}" + ("" if row.supplier_id else " (no supplier to order from)"),
        )
    )
    if row.eoq is not None:
        steps.append(
            Step(
                "Economic order quantity",
                "EOQ = √(2 D S / H): D yearly demand, S cost per order, H yearly holding cost",
                eoq_working(row),
                f"EOQ = {qty(math.ceil(row.eoq))}",
            )
        )
    return steps


def eoq_working(row) -> str:
    holding_rate = settings.BACKSTOCK_HOLDING_COST_RATE
    yearly = float(row.d) * 365
    parts = [f"D = {rate(row.d)} × 365 = {qty(round(yearly))}"]
    ordering_cost = getattr(row, "ordering_cost", None)
    if ordering_cost is not None:
        parts.append(f"S = {money(ordering_cost)} per order")
    else:
        parts.append("S = the supplier's ordering cost (or the default)")
    if holding_rate is not None and row.unit_cost is not None:
        holding = float(row.unit_cost) * float(holding_rate)
        parts.append(f"H = {money(row.unit_cost)} × {rate(holding_rate)} = {rate(holding)}")
    return ", ".join(parts)


def short_explanation(row) -> dict[str, str]:
    """One-line versions for `title` tooltips on the numbers themselves."""
    safety = _safety_result(row)
    return {
        "safety": (
            f"SS = {safety.formula}; z = {rate(row.z, 3)} ({percent(row.service_level)}), "
            f"σd = {rate(row.sigma_d)}, L = {qty(row.lead_time_days)} days"
            + (
                f", d = {rate(row.d)}, σL = {rate(row.sigma_lead_time)}"
                if row.sigma_lead_time
                else ""
            )
            + f" → {rate(safety.value, 1)}, rounded up to {row.suggested_safety_stock:,}"
        ),
        "rop": (
            "Manual reorder point set on the stock level"
            if row.rop_is_manual
            else f"ROP = d × L + SS = {rate(row.d)} × {qty(row.lead_time_days)} + "
            f"{rate(safety.value, 1)} = {rate(row.rop, 1)}"
        ),
        "quantity": (
            f"Enough to bring projected {row.projected:,} up to ROP + d × {row.review_days} days, "
            f"rounded up to packs of {row.pack_size:,}, at least {row.min_order_qty:,}"
        ),
    }


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierGroup:
    """What the group header row of one supplier says about all its suggestions."""

    name: str
    rows: int
    urgent: int
    value: Decimal


class Suggestion:
    """A ReorderRow for the table: its own fields, plus its supplier's group and its working."""

    def __init__(self, row, group: SupplierGroup):
        self.row = row
        self.group = group
        # Open purchase order lines of this product × warehouse as (expected date, outstanding,
        # PO number); filled in for the rows on the page (see suggestions_supply_attach).
        self.supply: list[tuple] = []
        # A draft, sent or partly received order of this row's supplier for the same product ×
        # warehouse: drafting skips the row, so the page says so.
        self.covered_by = None

    def __getattr__(self, name):
        # Only called for names the wrapper lacks; never for "row" itself once it is set.
        if name == "row" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.row, name)

    @cached_property
    def steps(self) -> list[Step]:
        return explanation(self.row)


def suggestions_supply_attach(suggestions: Iterable[Suggestion]) -> None:
    """Name the open purchase orders behind each row's "on order", and the draft, sent or partly
    received order of the row's own supplier that already covers it (one query for the page)."""
    from suppliers.selectors import pending_purchases

    suggestions = list(suggestions)
    if not suggestions:
        return
    pending = pending_purchases(
        product_ids={s.product_id for s in suggestions},
        warehouse_ids={s.warehouse_id for s in suggestions},
    )
    for suggestion in suggestions:
        lines = pending.get((suggestion.product_id, suggestion.warehouse_id), [])
        suggestion.supply = [
            (line.expected_date, line.outstanding, line.number)
            for line in lines
            if not line.is_draft and line.outstanding > 0
        ]
        suggestion.covered_by = next(
            (line for line in lines if line.supplier_id == suggestion.supplier_id), None
        )


def suggestions_grouped(rows: Sequence) -> list[Suggestion]:
    """Each row with the totals of its supplier group (over all rows, not just one page)."""
    totals: dict[int | None, list] = {}
    for row in rows:
        entry = totals.setdefault(
            row.supplier_id, [row.supplier_name or NO_SUPPLIER, 0, 0, Decimal(0)]
        )
        entry[1] += 1
        entry[2] += 1 if row.urgent else 0
        entry[3] += Decimal(row.line_value or 0)
    groups = {key: SupplierGroup(*values) for key, values in totals.items()}
    return [Suggestion(row, groups[row.supplier_id]) for row in rows]


class ReorderSuggestionTable(tables.Table):
    """One row per suggestion; the template groups them under their preferred supplier."""

    select = tables.Column(
        accessor="level_id",
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "select-col"}, "td": {"class": "select-col"}},
    )
    product = tables.Column(
        "Product", accessor="sku", orderable=False, attrs={"td": {"class": "product-col"}}
    )
    warehouse = tables.Column("Warehouse", accessor="warehouse_code", orderable=False)
    on_hand = tables.Column("On hand", attrs=NUM, orderable=False)
    available = tables.Column("Available", attrs=NUM, orderable=False)
    backordered = tables.Column("Backordered", attrs=NUM, orderable=False)
    on_order = tables.Column("On order", attrs=NUM, orderable=False)
    projected = tables.Column("Projected", attrs=NUM, orderable=False)
    safety = tables.Column(
        "Safety stock now → suggested",
        accessor="suggested_safety_stock",
        attrs={"td": {"class": "num"}, "th": {"class": "num safety-col"}},
        orderable=False,
    )
    rop = tables.Column("ROP", attrs=NUM, orderable=False)
    suggested_qty = tables.Column("Suggested qty", attrs=NUM, orderable=False)
    pack = tables.Column("Pack / min", accessor="pack_size", attrs=NUM, orderable=False)
    unit_cost = tables.Column("Unit cost", attrs=NUM, orderable=False)
    line_value = tables.Column("Line value", attrs=NUM, orderable=False)
    eoq = tables.Column("EOQ", attrs=NUM, orderable=False, empty_values=())
    explain = tables.Column(
        "", accessor="level_id", orderable=False, attrs={"td": {"class": "text-end"}}
    )

    class Meta:
        template_name = "planning/_reorder_table.html"
        attrs = {
            "class": "table table-sm align-middle reorder-table",
            "data-testid": "reorder-table",
        }
        row_attrs = {
            "class": lambda record: "table-warning" if record.urgent else "",
            "data-level": lambda record: record.level_id,
        }
        empty_text = "Nothing to reorder with these filters: every projected stock is above its reorder point."

    def __init__(self, *args, can_apply: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_apply = can_apply

    def render_select(self, value, record):
        return format_html(
            '<input type="checkbox" class="form-check-input" name="levels" value="{}" '
            'form="reorder-selection" aria-label="Select {} at {}">',
            value,
            record.sku,
            record.warehouse_code,
        )

    def render_product(self, value, record):
        url = reverse("inventory:product-detail", args=[record.product_id])
        urgent = (
            format_html(
                ' <span class="badge text-bg-warning urgent-mark" title="{}">urgent</span>',
                _urgent_reason(record),
            )
            if record.urgent
            else ""
        )
        flags = format_html_join(
            "",
            ' <span class="badge text-bg-light border fw-normal">{}</span>',
            ((flag,) for flag in getattr(record, "flags", ()) if flag != "no supplier"),
        )
        covered = getattr(record, "covered_by", None)
        if covered is not None:
            covered = format_html(
                ' <span class="badge text-bg-info covered-mark" data-testid="covered" title="{}">'
                "on {} ({})</span>",
                "Already on an order of this supplier: creating draft purchase orders skips "
                "this row.",
                covered.number,
                "draft" if covered.is_draft else "sent",
            )
        return format_html(
            '<a href="{}">{}</a>{}{}<div class="small text-body-secondary">{}{}</div>',
            url,
            value,
            urgent,
            covered or "",
            record.name,
            flags,
        )

    def render_on_order(self, value, record):
        if not record.supply:
            return f"{value:,}"
        details = "; ".join(
            f"{number}: {outstanding:,} due {expected:%d %b}"
            for expected, outstanding, number in record.supply
        )
        first = record.supply[0][2]
        more = f" +{len(record.supply) - 1}" if len(record.supply) > 1 else ""
        return format_html(
            '<span title="{}">{}</span><div class="small text-body-secondary">{}{}</div>',
            f"On open purchase orders: {details}",
            f"{value:,}",
            first,
            more,
        )

    def render_projected(self, value):
        if value < 0:
            return format_html('<span class="text-danger fw-semibold">{}</span>', f"{value:,}")
        return f"{value:,}"

    def render_safety(self, value, record):
        tips = short_explanation(record)
        apply = ""
        if self.can_apply and value != record.safety_stock:
            apply = format_html(
                ' <button type="submit" form="reorder-apply-one" name="levels" value="{}" '
                'class="btn btn-outline-primary btn-sm py-0 px-1" '
                'aria-label="Apply suggested safety stock {} to {} at {}">Apply</button>',
                record.level_id,
                value,
                record.sku,
                record.warehouse_code,
            )
        return format_html(
            '{} → <span class="ss-suggested" title="{}">{}</span>{}',
            f"{record.safety_stock:,}",
            tips["safety"],
            f"{value:,}",
            apply,
        )

    def render_rop(self, value, record):
        manual = (
            ' <span class="badge text-bg-secondary">manual</span>' if record.rop_is_manual else ""
        )
        return format_html(
            '<span title="{}">{}</span>{}',
            short_explanation(record)["rop"],
            qty(round(float(value), 1)),
            format_html(manual) if manual else "",
        )

    def render_suggested_qty(self, value, record):
        if not record.supplier_id:
            return format_html(
                '<span title="{}">{}</span> <span class="badge text-bg-light border">no supplier</span>',
                short_explanation(record)["quantity"],
                f"{value:,}",
            )
        return format_html(
            '<strong title="{}">{}</strong>', short_explanation(record)["quantity"], f"{value:,}"
        )

    def render_pack(self, value, record):
        return f"{value:,} / {record.min_order_qty:,}"

    def render_unit_cost(self, value):
        return money(value)

    def render_line_value(self, value):
        return money(value)

    def render_eoq(self, value, record):
        if value is None:
            return format_html(
                '<span class="text-body-secondary" title="{}">—</span>',
                "Needs the supplier's ordering cost, the holding cost rate and a unit cost",
            )
        return format_html(
            '{}<div class="small text-body-secondary eoq-inputs">D {} · S {} · H {}</div>',
            qty(math.ceil(value)),
            qty(round(float(record.d) * 365)),
            money(getattr(record, "ordering_cost", None)),
            rate(getattr(record, "holding_cost", None)),
        )

    def render_explain(self, value, record):
        return format_html(
            '<button type="button" class="btn btn-link btn-sm explain-toggle" data-bs-toggle="collapse" '
            'data-bs-target="#explain-{}" aria-expanded="false" aria-controls="explain-{}" '
            'aria-label="How the numbers of {} at {} were worked out">How?</button>',
            value,
            value,
            record.sku,
            record.warehouse_code,
        )


def _urgent_reason(row) -> str:
    reasons = []
    if row.projected < row.safety_stock:
        reasons.append(f"projected {row.projected:,} is below safety stock {row.safety_stock:,}")
    if row.backordered:
        reasons.append(f"{row.backordered:,} units backordered")
    return "; ".join(reasons) or "urgent"


# --- CSV --------------------------------------------------------------------------------------

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


def csv_rows(rows: Sequence) -> Iterator[tuple]:
    """The header, then one tuple per suggestion; produced lazily for a streamed response."""
    yield CSV_HEADER
    for row in rows:
        safety = _safety_result(row)
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
            f"{float(row.rop):.2f}",
            "yes" if row.rop_is_manual else "no",
            row.suggested_qty,
            row.pack_size,
            row.min_order_qty,
            "" if row.unit_cost is None else f"{Decimal(row.unit_cost):.2f}",
            "" if row.line_value is None else f"{Decimal(row.line_value):.2f}",
            "" if row.eoq is None else math.ceil(row.eoq),
            "yes" if row.urgent else "no",
        )
