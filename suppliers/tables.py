"""Tables of the purchasing and receiving lists."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from suppliers.models import PurchaseOrder, Supplier

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}
NOWRAP = {"td": {"class": "text-nowrap"}}


def _due_state(record) -> str:
    if record.is_overdue:
        return "Overdue"
    if record.is_due_today:
        return "Due today"
    return ""


class ReceivingTable(tables.Table):
    """Purchase orders still expecting stock, as annotated by inbound_purchase_orders()."""

    number = tables.Column(
        verbose_name="PO",
        accessor="number",
        order_by=("id",),
        linkify=lambda record: record.get_absolute_url(),
        attrs=NOWRAP,
    )
    supplier = tables.Column(accessor="supplier__name", verbose_name="Supplier")
    warehouse = tables.Column(accessor="warehouse__code", verbose_name="Warehouse")
    expected_date = tables.DateColumn(verbose_name="Expected", format="D j M Y", attrs=NOWRAP)
    due = tables.Column(
        accessor="is_overdue", verbose_name="Due", order_by=("expected_date", "id"), empty_values=()
    )
    status = tables.Column()
    line_count = tables.Column(verbose_name="Lines", attrs=NUM)
    units_outstanding = tables.Column(verbose_name="Units outstanding", attrs=NUM)
    receive = tables.Column(
        verbose_name="",
        accessor="pk",
        orderable=False,
        exclude_from_export=True,
        empty_values=(),
    )

    class Meta:
        model = PurchaseOrder
        fields = ()
        sequence = (
            "number",
            "supplier",
            "warehouse",
            "expected_date",
            "due",
            "status",
            "line_count",
            "units_outstanding",
            "receive",
        )
        template_name = "suppliers/_receiving_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        row_attrs = {"class": lambda record: "table-danger" if record.is_overdue else ""}
        empty_text = "No purchase orders are expected with these filters."
        orderable = True

    def __init__(self, *args, can_receive: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_receive = can_receive

    def render_receive(self, record):
        if not self.can_receive:
            return ""
        return format_html(
            '<a class="btn btn-sm btn-primary" href="{}">Receive</a>',
            reverse("suppliers:receive", args=[record.pk]),
        )

    def render_due(self, record):
        state = _due_state(record)
        if state == "Overdue":
            return format_html('<span class="badge badge-overdue">{}</span>', state)
        if state:
            return format_html('<span class="badge text-bg-primary">{}</span>', state)
        return ""

    def value_due(self, record):
        return _due_state(record)


class PurchaseOrderTable(tables.Table):
    number = tables.Column(
        verbose_name="PO",
        accessor="number",
        order_by=("id",),
        linkify=lambda record: record.get_absolute_url(),
        attrs=NOWRAP,
    )
    supplier = tables.Column(accessor="supplier__name", verbose_name="Supplier")
    warehouse = tables.Column(accessor="warehouse__code", verbose_name="Warehouse")
    status = tables.Column()
    expected_date = tables.DateColumn(verbose_name="Expected", format="j M Y")
    created_at = tables.DateColumn(verbose_name="Created", format="j M Y")
    line_count = tables.Column(verbose_name="Lines", attrs=NUM)
    units_ordered = tables.Column(verbose_name="Units ordered", attrs=NUM)
    units_outstanding = tables.Column(verbose_name="Units outstanding", attrs=NUM)

    class Meta:
        model = PurchaseOrder
        fields = ()
        sequence = (
            "number",
            "supplier",
            "warehouse",
            "status",
            "expected_date",
            "created_at",
            "line_count",
            "units_ordered",
            "units_outstanding",
        )
        template_name = "suppliers/_purchaseorder_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "No purchase orders match these filters."

    def render_expected_date(self, value, record):
        if record.is_overdue:
            return format_html(
                '{} <span class="badge badge-overdue">Overdue</span>', date_format(value, "j M Y")
            )
        return date_format(value, "j M Y")

    def value_expected_date(self, value):
        return value.isoformat()


class SupplierTable(tables.Table):
    name = tables.Column(linkify=True)
    email = tables.EmailColumn()
    phone = tables.Column()
    is_active = tables.BooleanColumn(verbose_name="Active")
    term_count = tables.Column(verbose_name="Products supplied", attrs=NUM)
    open_po_count = tables.Column(verbose_name="Open purchase orders", attrs=NUM)

    class Meta:
        model = Supplier
        fields = ()
        sequence = ("name", "email", "phone", "is_active", "term_count", "open_po_count")
        template_name = "suppliers/_supplier_table.html"
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "No suppliers match these filters."
