"""Tables of the stock pages (django-tables2): the stock overview and a product's ledger."""

from __future__ import annotations

from urllib.parse import urlencode

import django_tables2 as tables
from django.db import connection
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.html import format_html

from .models import StockLevel, StockMovement

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


def _product_url(record) -> str:
    return reverse("inventory:product-detail", args=[record.product_id])


class SelectColumn(tables.CheckBoxColumn):
    """Row tick boxes that belong to the bulk form outside the table (no nested forms)."""

    def __init__(self, *, form_id: str, input_name: str, **kwargs):
        self.form_id = form_id
        self.input_name = input_name
        attrs = {
            "th": {"class": "select-col"},
            "td": {"class": "select-col"},
            "th__input": {
                "data-select-all": input_name,
                "aria-label": "Select all rows on this page",
                "class": "form-check-input",
            },
        }
        super().__init__(attrs=attrs, exclude_from_export=True, **kwargs)

    def render(self, value, bound_column, record):
        return format_html(
            '<input type="checkbox" class="form-check-input" name="{}" value="{}" form="{}" '
            'aria-label="Select {} at {}">',
            self.input_name,
            value,
            self.form_id,
            record.product.sku,
            record.warehouse.code,
        )


class StockLevelTable(tables.Table):
    """One row per product × warehouse, from inventory.selectors.stock_overview()."""

    levels = SelectColumn(accessor="pk", form_id="bulk-safety-form", input_name="levels")
    sku = tables.Column(
        "SKU",
        accessor="product__sku",
        order_by=("product__sku", "warehouse__code"),
        linkify=_product_url,
        attrs={"td": {"class": "text-nowrap"}},
    )
    name = tables.Column(
        "Name",
        accessor="product__name",
        order_by=("product__name", "warehouse__code"),
        linkify=_product_url,
    )
    warehouse = tables.Column(
        "Warehouse", accessor="warehouse__code", order_by=("warehouse__code", "product__sku")
    )
    on_hand = tables.Column("On hand", attrs=NUM)
    allocated = tables.Column("Allocated", attrs=NUM)
    available_qty = tables.Column("Available", attrs=NUM)
    backordered = tables.Column("Backordered", attrs=NUM)
    on_order = tables.Column("On order", attrs=NUM)
    projected = tables.Column("Projected", attrs=NUM)
    safety_stock = tables.TemplateColumn(
        template_name="inventory/_safetystock_cell.html",
        # In this table an inline save swaps the whole row, so "below safety" updates at once.
        extra_context={"in_row": True},
        verbose_name="Safety stock",
        attrs={"td": {"class": "num safety-cell"}, "th": {"class": "num"}},
    )
    release = tables.Column(
        "",
        accessor="pk",
        orderable=False,
        exclude_from_export=True,
        empty_values=(),
        attrs={"td": {"class": "text-end"}},
    )

    class Meta:
        model = StockLevel
        fields = ()
        sequence = (
            "levels",
            "sku",
            "name",
            "warehouse",
            "on_hand",
            "allocated",
            "available_qty",
            "backordered",
            "on_order",
            "projected",
            "safety_stock",
            "release",
        )
        attrs = {"class": "table table-sm table-hover align-middle stock-table"}
        row_attrs = {
            "class": lambda record: "table-warning" if _below_safety(record) else "",
            "data-level": lambda record: record.pk,
        }
        empty_text = "No stock levels match these filters."
        order_by = ("sku",)
        template_name = "inventory/_stocklevel_table.html"

    # The database value behind each exported column, for the streamed CSV export.
    EXPORT_VALUES = {
        "sku": "product__sku",
        "name": "product__name",
        "warehouse": "warehouse__code",
        "on_hand": "on_hand",
        "allocated": "allocated",
        "available_qty": "available_qty",
        "backordered": "backordered",
        "on_order": "on_order",
        "projected": "projected",
        "safety_stock": "safety_stock",
    }
    EXPORT_CHUNK = 2000

    def __init__(self, *args, can_release: bool = False, can_select: bool = False, **kwargs):
        if not can_select:
            kwargs.setdefault("exclude", ())
            kwargs["exclude"] = (*kwargs["exclude"], "levels")
        super().__init__(*args, **kwargs)
        self.can_release = can_release
        self.can_select = can_select

    def export_values(self, *, exclude_columns=()):
        """The CSV as the table is sorted and filtered, read as plain values through a
        server-side cursor a chunk at a time: memory stays flat and no cell is rendered.
        The rows are the database's own tuples (every exported value is a number or a text,
        so nothing needs converting). None when some exported column has no plain value (then
        the table renders it)."""
        columns = [
            column
            for column in self.columns.iterall()
            if not (column.column.exclude_from_export or column.name in exclude_columns)
        ]
        if any(column.name not in self.EXPORT_VALUES for column in columns):
            return None
        queryset = self.data.data.values_list(
            *(self.EXPORT_VALUES[column.name] for column in columns)
        )
        sql, params = queryset.query.sql_with_params()

        def rows():
            yield [force_str(column.header) for column in columns]
            with connection.chunked_cursor() as cursor:
                cursor.execute(sql, params)
                while chunk := cursor.fetchmany(self.EXPORT_CHUNK):
                    yield from chunk

        return rows()

    def render_available_qty(self, value, record):
        if _below_safety(record):
            # Said in words as well as by the row colour, for readers who cannot see the colour.
            return format_html('{} <span class="badge text-bg-warning">below safety</span>', value)
        return value

    def value_available_qty(self, value):
        return value

    def render_projected(self, value):
        if value < 0:
            return format_html('<span class="text-danger fw-semibold">{}</span>', value)
        return value

    def value_safety_stock(self, record):
        return record.safety_stock

    def render_release(self, record):
        if not (self.can_release and _releasable(record)):
            return ""
        url = reverse("orders:release-review")
        query = urlencode({"warehouse": record.warehouse_id, "product": record.product_id})
        return format_html(
            '<a class="btn btn-sm btn-outline-primary" href="{}?{}">Release</a>', url, query
        )


def _below_safety(level) -> bool:
    return level.safety_stock > 0 and level.available_qty < level.safety_stock


def _releasable(level) -> bool:
    return level.available_qty > 0 and level.backordered > 0


class StockMovementTable(tables.Table):
    """A product's ledger, newest first: what moved, who, when, why, which document."""

    created_at = tables.DateTimeColumn(format="j M Y H:i", verbose_name="When")
    warehouse = tables.Column("Warehouse", accessor="level__warehouse__code")
    kind = tables.Column("Kind")
    quantity = tables.Column("Change", attrs=NUM)
    balance_after = tables.Column("Balance", attrs=NUM)
    created_by = tables.Column("Who", default="—")
    reason = tables.Column("Why", default="—")
    reference = tables.Column("Reference", default="—")

    class Meta:
        model = StockMovement
        fields = ()
        sequence = (
            "created_at",
            "warehouse",
            "kind",
            "quantity",
            "balance_after",
            "created_by",
            "reason",
            "reference",
        )
        orderable = False
        attrs = {"class": "table table-sm align-middle ledger-table"}
        empty_text = "No stock has moved yet."

    def render_quantity(self, value):
        return f"{value:+d}"

    def render_created_by(self, value):
        return value.get_full_name() or value.get_username()
