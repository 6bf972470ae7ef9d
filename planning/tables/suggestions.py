"""The reorder suggestions as a table grouped by preferred supplier, the working shown for every
computed number.

Records are `planning.selectors.PageRow`s, already sorted by supplier, warehouse and SKU. The
table template (`planning/_reorder_table.html`) starts a group with a header row whenever the
supplier changes, and follows each suggestion with a collapsed row that shows how its safety
stock, reorder point and quantity were worked out.
"""

from __future__ import annotations

from operator import attrgetter

import django_tables2 as tables
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.safestring import SafeString

from common.html import html, html_join
from planning.selectors import NO_SUPPLIER, ReorderRow
from planning.working import explanation, money, qty, quantity_tip, rate, rop_tip, safety_tip

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class ReorderSuggestionTable(tables.Table):
    """One row per suggestion; the template groups them under their preferred supplier."""

    select = tables.Column(
        accessor="row__level_id",
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "select-col"}, "td": {"class": "select-col"}},
    )
    product = tables.Column(
        "Product", accessor="row__sku", orderable=False, attrs={"td": {"class": "product-col"}}
    )
    warehouse = tables.Column("Warehouse", accessor="row__warehouse_code", orderable=False)
    on_hand = tables.Column("On hand", accessor="row__on_hand", attrs=NUM, orderable=False)
    available = tables.Column("Available", accessor="row__available", attrs=NUM, orderable=False)
    backordered = tables.Column(
        "Backordered", accessor="row__backordered", attrs=NUM, orderable=False
    )
    on_order = tables.Column("On order", accessor="row__on_order", attrs=NUM, orderable=False)
    projected = tables.Column("Projected", accessor="row__projected", attrs=NUM, orderable=False)
    safety = tables.Column(
        "Safety stock set → suggested",
        accessor="row__suggested_safety_stock",
        attrs={"td": {"class": "num"}, "th": {"class": "num safety-col"}},
        orderable=False,
    )
    rop = tables.Column("ROP", accessor="row__rop", attrs=NUM, orderable=False)
    suggested_qty = tables.Column(
        "Suggested qty", accessor="row__suggested_qty", attrs=NUM, orderable=False
    )
    pack = tables.Column("Pack / min", accessor="row__pack_size", attrs=NUM, orderable=False)
    unit_cost = tables.Column("Unit cost", accessor="row__unit_cost", attrs=NUM, orderable=False)
    line_value = tables.Column("Line value", accessor="row__line_value", attrs=NUM, orderable=False)
    eoq = tables.Column("EOQ", accessor="row__eoq", attrs=NUM, orderable=False, empty_values=())
    explain = tables.Column(
        "", accessor="row__level_id", orderable=False, attrs={"td": {"class": "text-end"}}
    )

    class Meta:
        template_name = "planning/_reorder_table.html"
        attrs = {
            "class": "table table-sm align-middle reorder-table",
            "data-testid": "reorder-table",
        }
        row_attrs = {
            "class": lambda record: "table-warning" if record.row.urgent else "",
            "data-level": lambda record: record.row.level_id,
        }
        empty_text = "Nothing to reorder with these filters: every projected stock is above its reorder point."

    def __init__(self, *args, can_apply: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_apply = can_apply

    @cached_property
    def rendered_rows(self) -> list[tuple]:
        """(row, its cells, the row with its working) for each suggestion on the page, as HTML.

        The cells are written here, each by its column's `render_…` method, instead of one
        template include per cell: a page holds a hundred rows of sixteen numbers with their
        working, and the template engine would spend most of the page's time on them."""
        # Each column's value read straight off the record (its accessor, "row__sku", as an
        # attribute path), not through the general accessor's resolution.
        columns = [
            (
                column,
                attrgetter(str(column.accessor).replace("__", ".")),
                column.attrs["td"].as_html(),
                getattr(self, f"render_{column.name}", None),
            )
            for column in self.columns
        ]
        rendered = []
        for bound_row in self.paginated_rows:
            record = bound_row.record
            cells = []
            for column, value_of, attrs, render in columns:
                value = value_of(record)
                if value in column.column.empty_values:
                    html = column.default
                else:
                    html = render(value, record) if render else value
                cells.append((attrs, html))
            rendered.append(
                (
                    bound_row,
                    html_join("", "<td {}>{}</td>", cells),
                    working_row(record.row, columns=len(columns)),
                )
            )
        return rendered

    def render_select(self, value, record):
        return html(
            '<input type="checkbox" class="form-check-input" name="levels" value="{}" '
            'form="reorder-selection" aria-label="Select {} at {}">',
            value,
            record.row.sku,
            record.row.warehouse_code,
        )

    def render_product(self, value, record):
        row = record.row
        url = reverse("inventory:product-detail", args=[row.product_id])
        urgent = (
            html(
                ' <span class="badge text-bg-warning urgent-mark" title="{}">urgent</span>',
                _urgent_reason(row),
            )
            if row.urgent
            else ""
        )
        flags = html_join(
            "",
            ' <span class="badge text-bg-light border fw-normal">{}</span>',
            ((flag,) for flag in row.flags if flag != NO_SUPPLIER),
        )
        covered = ""
        if record.covered_by is not None:
            covered = html(
                ' <span class="badge text-bg-info covered-mark" data-testid="covered" title="{}">'
                "on {} ({})</span>",
                "Already on an order of this supplier: creating draft purchase orders skips "
                "this row.",
                record.covered_by.number,
                "draft" if record.covered_by.is_draft else "sent",
            )
        return html(
            '<a href="{}">{}</a>{}{}<div class="small text-body-secondary">{}{}</div>',
            url,
            value,
            urgent,
            covered,
            row.name,
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
        return html(
            '<span title="{}">{}</span><div class="small text-body-secondary">{}{}</div>',
            f"On open purchase orders: {details}",
            f"{value:,}",
            first,
            more,
        )

    def render_projected(self, value, record):
        if value < 0:
            return html('<span class="text-danger fw-semibold">{}</span>', f"{value:,}")
        return f"{value:,}"

    def render_safety(self, value, record):
        row = record.row
        apply = ""
        if self.can_apply and value != row.safety_stock:
            apply = html(
                ' <button type="submit" form="reorder-apply-one" name="levels" value="{}" '
                'class="btn btn-outline-primary btn-sm py-0 px-1" '
                'aria-label="Apply suggested safety stock {} to {} at {}">Apply</button>',
                row.level_id,
                value,
                row.sku,
                row.warehouse_code,
            )
        difference = value - row.safety_stock
        return html(
            '{} → <span class="ss-suggested" title="{}">{}</span>{}{}',
            f"{row.safety_stock:,}",
            safety_tip(row),
            f"{value:,}",
            html(
                ' <span class="small text-body-secondary ss-difference">({})</span>',
                f"{difference:+,}",
            )
            if difference
            else "",
            apply,
        )

    def render_rop(self, value, record):
        manual = SafeString(' <span class="badge text-bg-secondary">manual</span>')
        return html(
            '<span title="{}">{}</span>{}',
            rop_tip(record.row),
            f"{value:,}",
            manual if record.row.rop_is_manual else "",
        )

    def render_suggested_qty(self, value, record):
        row = record.row
        if not row.supplier_id:
            return html(
                '<span title="{}">{}</span> <span class="badge text-bg-light border">no supplier</span>',
                quantity_tip(row),
                f"{value:,}",
            )
        return html('<strong title="{}">{}</strong>', quantity_tip(row), f"{value:,}")

    def render_pack(self, value, record):
        return f"{value:,} / {record.row.min_order_qty:,}"

    def render_unit_cost(self, value, record):
        return money(value)

    def render_line_value(self, value, record):
        return money(value)

    def render_eoq(self, value, record):
        row = record.row
        if value is None:
            return html(
                '<span class="text-body-secondary" title="{}">—</span>',
                "Needs the supplier's ordering cost, the holding cost rate and a unit cost",
            )
        return html(
            '{}<div class="small text-body-secondary eoq-inputs">D {} · S {} · H {}</div>',
            qty(row.eoq_units),
            qty(round(float(row.d) * 365)),
            money(row.ordering_cost),
            rate(row.holding_cost),
        )

    def render_explain(self, value, record):
        return html(
            '<button type="button" class="btn btn-link btn-sm explain-toggle" data-bs-toggle="collapse" '
            'data-bs-target="#explain-{}" aria-expanded="false" aria-controls="explain-{}" '
            'aria-label="How the numbers of {} at {} were worked out">How?</button>',
            value,
            value,
            record.row.sku,
            record.row.warehouse_code,
        )


def _urgent_reason(row) -> str:
    reasons = []
    if row.projected < row.safety_stock:
        reasons.append(f"projected {row.projected:,} is below safety stock {row.safety_stock:,}")
    if row.backordered:
        reasons.append(f"{row.backordered:,} units backordered")
    return "; ".join(reasons) or "urgent"


def working_row(row: ReorderRow, *, columns: int) -> SafeString:
    """The collapsed row under a suggestion that shows how its numbers were worked out."""
    steps = html_join(
        "",
        '<tr><th scope="row">{}</th><td class="formula">{}</td><td>{}</td>'
        '<td class="fw-semibold">{}</td></tr>',
        ((step.label, step.formula, step.working, step.result) for step in explanation(row)),
    )
    return html(
        '<tr class="reorder-explain collapse" id="explain-{}"><td colspan="{}">'
        '<div class="reorder-explain py-1" data-testid="explain-{}">'
        '<table class="table table-sm table-borderless mb-0 explain-steps">'
        '<caption class="caption-top small py-1"><strong>{} at {}</strong>: how these numbers '
        "were worked out</caption>"
        '<thead><tr><th scope="col"></th><th scope="col">Formula</th>'
        '<th scope="col">With this row\'s numbers</th><th scope="col">Result</th></tr></thead>'
        "<tbody>{}</tbody></table></div></td></tr>",
        row.level_id,
        columns,
        row.level_id,
        row.sku,
        row.warehouse_code,
        steps,
    )
