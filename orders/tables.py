"""Tables of the order list, the backorder queue and the page of a release."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.html import format_html
from django.utils.http import urlencode

from common.numbers import document_number

from .filters import age_bucket, age_days
from .models import Allocation, OrderLine, SalesOrder, SalesOrderStatus
from .selectors import release_allocation_values

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}
# Short codes and dates read better on one line; long names may wrap.
NOWRAP = {"td": {"class": "text-nowrap"}}

STATUS_BADGES = {
    SalesOrderStatus.BACKORDERED: "text-bg-warning",
    SalesOrderStatus.READY: "text-bg-success",
    SalesOrderStatus.SHIPPED: "text-bg-secondary",
    SalesOrderStatus.CANCELLED: "text-bg-light border",
}


def status_badge(order: SalesOrder) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        STATUS_BADGES.get(order.status, "text-bg-light"),
        order.get_status_display(),
    )


class SalesOrderTable(tables.Table):
    number = tables.Column(
        "Order",
        accessor="pk",
        order_by=("id",),
        linkify=("orders:order-detail", [tables.A("pk")]),
        attrs=NOWRAP,
    )
    # With the id as tie-breaker, so pages of orders placed in the same instant never overlap.
    placed_at = tables.DateTimeColumn(
        verbose_name="Placed", format="j M Y H:i", attrs=NOWRAP, order_by=("placed_at", "id")
    )
    customer = tables.Column("Customer", accessor="customer__name", order_by=("customer__name",))
    customer_reference = tables.Column("Reference", attrs=NOWRAP)
    warehouse = tables.Column(
        "Warehouse", accessor="warehouse__code", order_by=("warehouse__code",)
    )
    priority = tables.Column()
    status = tables.Column()
    line_count = tables.Column("Lines", attrs=NUM)
    units_ordered = tables.Column("Ordered", attrs=NUM)
    units_allocated = tables.Column("Allocated", attrs=NUM)
    units_backordered = tables.Column("Backordered", attrs=NUM)
    units_shipped = tables.Column("Shipped", attrs=NUM)

    class Meta:
        model = SalesOrder
        fields = ()
        sequence = (
            "number",
            "placed_at",
            "customer",
            "customer_reference",
            "warehouse",
            "priority",
            "status",
            "line_count",
            "units_ordered",
            "units_allocated",
            "units_backordered",
            "units_shipped",
        )
        template_name = "orders/_salesorder_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "No orders match these filters."
        order_by = ("-placed_at",)

    def render_number(self, record):
        return record.number

    def render_priority(self, record):
        return record.get_priority_display()

    def render_status(self, record):
        return status_badge(record)

    def value_status(self, record):
        return record.get_status_display()


class BackorderTable(tables.Table):
    """Waiting lines; `etas` is filled by the view for the rows of the current page only."""

    order = tables.Column(
        "Order",
        accessor="order_id",
        order_by=("order_id",),
        linkify=("orders:order-detail", [tables.A("order_id")]),
        attrs=NOWRAP,
    )
    sku = tables.Column("SKU", accessor="product__sku", order_by=("product__sku",))
    # Shown under the SKU on screen; its own column in the CSV export.
    product = tables.Column(
        "Product", accessor="product__name", order_by=("product__name",), visible=False
    )
    warehouse = tables.Column(
        "Warehouse", accessor="order__warehouse__code", order_by=("order__warehouse__code",)
    )
    customer = tables.Column(
        "Customer", accessor="order__customer__name", order_by=("order__customer__name",)
    )
    priority = tables.Column("Priority", accessor="order__priority", order_by=("-order__priority",))
    placed_at = tables.DateTimeColumn(
        verbose_name="Placed", accessor="order__placed_at", format="j M Y", visible=False
    )
    waiting_days = tables.Column(
        "Waiting (days)", accessor="order__placed_at", order_by=("-order__placed_at",), attrs=NUM
    )
    bucket = tables.Column("Age", accessor="order__placed_at", orderable=False, attrs=NOWRAP)
    position = tables.Column("Queue position", attrs=NUM, order_by=("product__sku", "position"))
    quantity_ordered = tables.Column("Ordered", attrs=NUM)
    quantity_allocated = tables.Column("Allocated", attrs=NUM)
    quantity_backordered = tables.Column("Backordered", attrs=NUM)
    eta = tables.Column("ETA", empty_values=(), orderable=False)
    actions = tables.Column(
        "", empty_values=(), orderable=False, exclude_from_export=True, attrs=NOWRAP
    )

    class Meta:
        model = OrderLine
        fields = ()
        sequence = (
            "sku",
            "product",
            "warehouse",
            "position",
            "order",
            "customer",
            "priority",
            "placed_at",
            "waiting_days",
            "bucket",
            "quantity_ordered",
            "quantity_allocated",
            "quantity_backordered",
            "eta",
            "actions",
        )
        template_name = "orders/_backorder_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "Nobody is waiting for stock that matches these filters."

    def __init__(self, *args, can_cancel: bool = False, back_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.etas: dict = {}
        self.can_cancel = can_cancel
        self.back_url = back_url

    def render_order(self, record):
        return record.order.number

    def render_sku(self, record):
        return format_html(
            '<span class="fw-semibold text-nowrap">{}</span>'
            '<div class="small text-body-secondary">{}</div>',
            record.product.sku,
            record.product.name,
        )

    def value_sku(self, record):
        return record.product.sku

    def render_priority(self, record):
        return record.order.get_priority_display()

    def render_waiting_days(self, value):
        return age_days(value)

    def render_bucket(self, value):
        return age_bucket(value)

    def render_eta(self, record):
        eta = self.etas.get(record.pk)
        if eta is None:
            return "—"
        if eta.state == "overdue":
            return format_html('<span class="text-danger">{}</span>', eta.label)
        return eta.label

    def value_eta(self, record):
        eta = self.etas.get(record.pk)
        return eta.label if eta else ""

    def render_actions(self, record):
        if not self.can_cancel:
            return ""
        url = reverse("orders:orderline-cancel", args=[record.pk])
        if self.back_url:
            url = f"{url}?{urlencode({'next': self.back_url})}"
        return format_html(
            '<a class="btn btn-outline-danger btn-sm" href="{}" title="Cancel this line">Cancel</a>',
            url,
        )


class ReleaseAllocationTable(tables.Table):
    """What one release gave to each line, in the order it gave it (not sortable: the order is
    the record). On screen the view loads the lines of the page's rows only."""

    order = tables.Column("Order", accessor="line__order_id", attrs=NOWRAP)
    customer = tables.Column("Customer", accessor="line__order__customer__name")
    sku = tables.Column("SKU", accessor="line__product__sku", attrs=NOWRAP)
    product = tables.Column("Product", accessor="line__product__name")
    quantity = tables.Column("Quantity", attrs=NUM)
    reason = tables.Column("Reason")

    class Meta:
        model = Allocation
        fields = ()
        sequence = ("order", "customer", "sku", "product", "quantity", "reason")
        template_name = "orders/_releaseallocation_table.html"
        attrs = {"class": "table table-sm align-middle", "data-testid": "release-allocations"}
        orderable = False
        empty_text = "No allocation of this release matches these filters."

    # The database value behind each exported column, for the streamed CSV export.
    EXPORT_VALUES = {
        "order": "line__order_id",
        "customer": "line__order__customer__name",
        "sku": "line__product__sku",
        "product": "line__product__name",
        "quantity": "quantity",
        "reason": "reason",
    }
    EXPORT_CHUNK = 2000

    def render_order(self, value):
        return document_number("SO", value)

    def export_values(self, *, exclude_columns=()):
        """Every allocation of the release (as filtered), read as plain values through a
        server-side cursor a chunk at a time, in the order on screen."""
        columns = [
            column
            for column in self.columns.iterall()
            if not (column.column.exclude_from_export or column.name in exclude_columns)
        ]
        names = [column.name for column in columns]
        values = release_allocation_values(
            allocations=self.data.data,
            fields=[self.EXPORT_VALUES[name] for name in names],
            chunk_size=self.EXPORT_CHUNK,
        )
        order_at = names.index("order") if "order" in names else None

        def rows():
            yield [force_str(column.header) for column in columns]
            for row in values:
                if order_at is None:
                    yield row
                else:
                    row = list(row)
                    row[order_at] = document_number("SO", row[order_at])
                    yield row

        return rows()


class ReadyOrderTable(tables.Table):
    """Orders a release served that are ready to ship now, in the order they would ship."""

    number = tables.Column("Order", accessor="pk", attrs=NOWRAP)
    customer = tables.Column("Customer", accessor="customer__name")
    priority = tables.Column()
    placed_at = tables.DateTimeColumn(verbose_name="Placed", format="j M Y", attrs=NOWRAP)
    ship = tables.Column("", accessor="pk", empty_values=(), exclude_from_export=True)

    class Meta:
        model = SalesOrder
        fields = ()
        sequence = ("number", "customer", "priority", "placed_at", "ship")
        template_name = "orders/_readyorder_table.html"
        attrs = {"class": "table table-sm align-middle", "data-testid": "ready-orders"}
        orderable = False

    def __init__(self, *args, can_ship: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_ship = can_ship
