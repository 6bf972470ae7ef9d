"""Admin for data fixes on suppliers, supply terms and purchase orders.

Purchase order status and received quantities belong to the purchasing and receiving services;
shipments are written only by receiving, so they are read-only here. What a draft orders (its
supplier, warehouse, products and quantities) can be changed until it is sent; from then on the
stock levels count its outstanding quantities as on order, so only the services may change them.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from common.admin import DocumentNumberSearchMixin, EditedColumnsOnlyMixin, ReadOnlyAdminMixin
from common.forms import WholeNumberField
from inventory.admin import ProductAdmin
from inventory.models import Product
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)

MAX_QUANTITY = settings.BACKSTOCK_MAX_QUANTITY


class SupplyTermForm(forms.ModelForm):
    lead_time_days = WholeNumberField(min_value=0, max_value=3650)
    min_order_qty = WholeNumberField(
        label="minimum order quantity", min_value=1, max_value=MAX_QUANTITY
    )
    pack_size = WholeNumberField(min_value=1, max_value=MAX_QUANTITY)

    class Meta:
        model = SupplierProduct
        fields = (
            "supplier",
            "product",
            "supplier_sku",
            "unit_cost",
            "lead_time_days",
            "min_order_qty",
            "pack_size",
            "is_preferred",
        )


class SupplyTermFormSet(BaseInlineFormSet):
    """Refuse two preferred suppliers for one product in the same submit.

    Each form checks the one-preferred-per-product constraint against the database, but two new
    rows in one formset cannot see each other, so the database would refuse them with an error
    page instead of a message."""

    def clean(self):
        super().clean()
        preferred = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("is_preferred"):
                continue
            product = data.get("product")
            if product is None:
                continue  # the form reports the missing product itself
            # On the product's add page the product has no pk yet; all its terms share it.
            key = product.pk or "new"
            if key in preferred:
                raise ValidationError(
                    "A product can have only one preferred supplier.", code="two_preferred"
                )
            preferred.add(key)


TERM_COLUMNS = (
    "supplier_sku",
    "unit_cost",
    "lead_time_days",
    "min_order_qty",
    "pack_size",
    "is_preferred",
)


class TermInlineBase(admin.TabularInline):
    """Supply terms edited from one side (a product or a supplier), the other side typed in."""

    model = SupplierProduct
    form = SupplyTermForm
    formset = SupplyTermFormSet
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("supplier", "product")


class SupplyTermInline(TermInlineBase):
    """A product's terms from each supplier (supplier SKU, cost, lead time, pack size)."""

    fk_name = "product"
    autocomplete_fields = ("supplier",)
    fields = ("supplier", *TERM_COLUMNS)


class SupplierTermInline(TermInlineBase):
    """The supplier's terms for each product it sells."""

    fk_name = "supplier"
    autocomplete_fields = ("product",)
    fields = ("product", *TERM_COLUMNS)


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "phone", "is_active", "product_count")
    list_filter = ("is_active",)
    search_fields = ("name", "email", "phone")
    inlines = (SupplierTermInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(term_count=Count("terms"))

    @admin.display(description="products", ordering="term_count")
    def product_count(self, obj):
        return obj.term_count


@admin.register(SupplierProduct)
class SupplierProductAdmin(admin.ModelAdmin):
    form = SupplyTermForm
    list_display = (
        "product",
        "supplier",
        "supplier_sku",
        "unit_cost",
        "lead_time_days",
        "min_order_qty",
        "pack_size",
        "is_preferred",
    )
    list_select_related = ("product", "supplier")
    list_filter = ("is_preferred", "supplier__is_active")
    search_fields = ("product__sku", "product__name", "supplier__name", "supplier_sku")
    autocomplete_fields = ("supplier", "product")


class PurchaseOrderLineForm(forms.ModelForm):
    quantity_ordered = WholeNumberField(min_value=1, max_value=MAX_QUANTITY)

    class Meta:
        model = PurchaseOrderLine
        fields = ("purchase_order", "product", "quantity_ordered", "unit_cost")


def _is_draft(purchase_order) -> bool:
    return purchase_order is None or purchase_order.status == PurchaseOrderStatus.DRAFT


def _purchase_order_locked(pk) -> PurchaseOrder | None:
    """The purchase order row, locked until the admin's save commits.

    Sending, receiving and cancelling lock this row before they count its lines as on order, so
    a save that holds it decides draft-or-not on the current status, and a concurrent send counts
    the lines as this save leaves them."""
    return PurchaseOrder.objects.select_for_update(no_key=True).filter(pk=pk).first()


def _fixed_edits_posted(data, *, prefix: str, current: dict[str, object]) -> bool:
    """Whether a submitted form changes a field that is read-only now, typically because the
    order was sent after the page was opened; such values are ignored when saving."""
    return any(
        f"{prefix}{name}" in data and data[f"{prefix}{name}"] != str(value)
        for name, value in current.items()
    )


FIXED_AFTER_SENDING = (
    "%s is no longer a draft, so its supplier, warehouse, products and ordered quantities are "
    "fixed: those changes were not saved. Cancel it and draft a new order to order differently."
)


class PurchaseOrderLineInline(admin.TabularInline):
    """Lines can be added and re-specified while the order is a draft; once it is sent, what was
    ordered is fixed and only the price can be corrected. Received quantities belong to receiving."""

    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    autocomplete_fields = ("product",)
    fields = ("product", "quantity_ordered", "quantity_received", "outstanding", "unit_cost")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "purchase_order")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def get_formset(self, request, obj=None, **kwargs):
        # A model admin drops the form's declared fields that are read-only, an inline does not:
        # without this, a sent order's page would demand the quantity it does not show.
        fixed = [
            f for f in self.get_readonly_fields(request, obj) if f in self.form.declared_fields
        ]
        kwargs.setdefault("form", type(self.form.__name__, (self.form,), dict.fromkeys(fixed)))
        return super().get_formset(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["quantity_received", "outstanding"]
        if not _is_draft(obj):
            readonly += ["product", "quantity_ordered"]
        return readonly

    def has_add_permission(self, request, obj=None):
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="outstanding")
    def outstanding(self, obj):
        return obj.outstanding if obj.pk else "-"


class ShipmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Shipment
    extra = 0
    fields = ("number", "reference", "received_by", "received_at")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("received_by")

    @admin.display(description="number")
    def number(self, obj):
        return obj.number


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(DocumentNumberSearchMixin, EditedColumnsOnlyMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "supplier",
        "warehouse",
        "status",
        "expected_date",
        "created_at",
        "sent_at",
    )
    list_select_related = ("supplier", "warehouse")
    list_filter = ("status", "warehouse")
    date_hierarchy = "expected_date"
    search_fields = ("supplier__name", "notes", "lines__product__sku")
    search_help_text = "Search by number (PO-000045), supplier, notes or SKU."
    number_lookups = {"PO": "pk"}
    autocomplete_fields = ("supplier",)
    fields = (
        "number",
        "supplier",
        "warehouse",
        "status",
        "expected_date",
        "notes",
        "created_by",
        "created_at",
        "sent_at",
        "closed_at",
        "cancel_reason",
    )
    inlines = (PurchaseOrderLineInline, ShipmentInline)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("supplier", "warehouse", "created_by")

    def get_readonly_fields(self, request, obj=None):
        # Status moves through the purchasing and receiving services (send, receive, cancel).
        readonly = [
            "number",
            "status",
            "created_by",
            "created_at",
            "sent_at",
            "closed_at",
            "cancel_reason",
        ]
        if not _is_draft(obj):
            # A sent order is the supplier's and the warehouse's plan; receipts point at it.
            readonly += ["supplier", "warehouse"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None or request.method != "POST":
            return obj
        # Read again under the row lock, which the change view's transaction holds until the
        # form and its lines are saved (see _purchase_order_locked).
        return (
            self.get_queryset(request)
            .select_for_update(no_key=True, of=("self",))
            .filter(pk=obj.pk)
            .first()
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        elif not _is_draft(obj) and self._sent_order_edits_posted(request, obj):
            self.message_user(request, FIXED_AFTER_SENDING % obj.number, messages.WARNING)
        super().save_model(request, obj, form, change)

    @staticmethod
    def _sent_order_edits_posted(request, obj) -> bool:
        data = request.POST
        if _fixed_edits_posted(
            data, prefix="", current={"supplier": obj.supplier_id, "warehouse": obj.warehouse_id}
        ):
            return True
        lines = {str(line.pk): line for line in obj.lines.all()}
        for key, line_id in data.items():
            if not (key.startswith("lines-") and key.endswith("-id")):
                continue
            line = lines.get(line_id)
            prefix = key.removesuffix("id")
            if line is None:
                # A line added on the draft's page: a sent order takes no new lines.
                if data.get(f"{prefix}product") or data.get(f"{prefix}quantity_ordered"):
                    return True
            elif _fixed_edits_posted(
                data,
                prefix=prefix,
                current={"product": line.product_id, "quantity_ordered": line.quantity_ordered},
            ):
                return True
        return False

    @admin.display(description="number", ordering="pk")
    def number(self, obj):
        return obj.number


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(DocumentNumberSearchMixin, EditedColumnsOnlyMixin, admin.ModelAdmin):
    """Lines are added on their purchase order's page, where the order's status is known."""

    form = PurchaseOrderLineForm
    list_display = (
        "purchase_order",
        "product",
        "quantity_ordered",
        "quantity_received",
        "outstanding",
        "unit_cost",
        "order_status",
    )
    list_select_related = ("purchase_order", "product")
    list_filter = ("purchase_order__status", "purchase_order__warehouse")
    search_fields = ("product__sku", "product__name")
    search_help_text = "Search by purchase order number (PO-000045), SKU or product name."
    number_lookups = {"PO": "purchase_order_id"}
    autocomplete_fields = ("product",)
    fields = (
        "purchase_order",
        "product",
        "quantity_ordered",
        "quantity_received",
        "outstanding",
        "unit_cost",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("purchase_order", "product")

    def get_readonly_fields(self, request, obj=None):
        readonly = ["purchase_order", "quantity_received", "outstanding"]
        if obj is not None and not _is_draft(obj.purchase_order):
            readonly += ["product", "quantity_ordered"]
        return readonly

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "POST":
            obj.purchase_order = _purchase_order_locked(obj.purchase_order_id)
        return obj

    def save_model(self, request, obj, form, change):
        if not _is_draft(obj.purchase_order) and _fixed_edits_posted(
            request.POST,
            prefix="",
            current={"product": obj.product_id, "quantity_ordered": obj.quantity_ordered},
        ):
            self.message_user(
                request, FIXED_AFTER_SENDING % obj.purchase_order.number, messages.WARNING
            )
        super().save_model(request, obj, form, change)

    @admin.display(description="outstanding")
    def outstanding(self, obj):
        return obj.outstanding

    @admin.display(description="order status", ordering="purchase_order__status")
    def order_status(self, obj):
        return obj.purchase_order.get_status_display()


class ShipmentLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ShipmentLine
    extra = 0
    fields = ("purchase_order_line", "quantity")
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("purchase_order_line__purchase_order", "purchase_order_line__product")
        )


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    """Shipments are written by the receiving service only (idempotent, with their stock moves)."""

    list_display = (
        "number",
        "purchase_order",
        "supplier",
        "reference",
        "received_by",
        "received_at",
    )
    list_select_related = ("purchase_order__supplier", "received_by")
    list_filter = ("purchase_order__warehouse",)
    date_hierarchy = "received_at"
    search_fields = ("reference", "idempotency_key", "purchase_order__supplier__name")
    search_help_text = "Search by number (SH-000007 or PO-000045), reference or supplier."
    number_lookups = {"SH": "pk", "PO": "purchase_order_id"}
    inlines = (ShipmentLineInline,)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("purchase_order__supplier", "received_by")
        )

    @admin.display(description="number", ordering="pk")
    def number(self, obj):
        return obj.number

    @admin.display(description="supplier", ordering="purchase_order__supplier__name")
    def supplier(self, obj):
        return obj.purchase_order.supplier


@admin.register(ShipmentLine)
class ShipmentLineAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    list_display = ("shipment", "purchase_order_line", "quantity")
    list_select_related = (
        "shipment",
        "purchase_order_line__purchase_order",
        "purchase_order_line__product",
    )
    list_filter = ("shipment__purchase_order__warehouse",)
    search_fields = ("purchase_order_line__product__sku", "shipment__reference")
    search_help_text = "Search by number (SH-000007 or PO-000045), SKU or delivery reference."
    number_lookups = {"SH": "shipment_id", "PO": "purchase_order_line__purchase_order_id"}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "shipment",
                "purchase_order_line__purchase_order",
                "purchase_order_line__product",
            )
        )


# The product's admin page lists its supply terms too. This app owns them, so it extends
# inventory's ProductAdmin from here instead of inventory importing suppliers.
admin.site.unregister(Product)


@admin.register(Product)
class ProductWithTermsAdmin(ProductAdmin):
    inlines = (*ProductAdmin.inlines, SupplyTermInline)
