"""Admin for data fixes on customers and sales orders.

Orders are placed, released, shipped and cancelled through the orders services, which keep
allocations, the backorder queue and stock in step. Here staff can see everything, correct an
order's customer reference or priority, and nothing else: quantities, statuses, allocations and
releases are read-only, and orders are not added or deleted in the admin.
"""

from django.contrib import admin

from common.admin import DocumentNumberSearchMixin, EditedColumnsOnlyMixin, ReadOnlyAdminMixin

from .models import Allocation, Customer, OrderLine, Release, SalesOrder

LINE_QUANTITIES = (
    "quantity_ordered",
    "quantity_allocated",
    "quantity_shipped",
    "quantity_cancelled",
    "quantity_backordered",
)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "email")


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("product", *LINE_QUANTITIES, "cancel_reason")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "order")


@admin.register(SalesOrder)
class SalesOrderAdmin(DocumentNumberSearchMixin, EditedColumnsOnlyMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "warehouse",
        "priority",
        "status",
        "placed_at",
        "customer_reference",
    )
    list_select_related = ("customer", "warehouse")
    list_filter = ("status", "priority", "warehouse")
    date_hierarchy = "placed_at"
    search_fields = ("customer__name", "customer_reference", "lines__product__sku")
    search_help_text = "Search by number (SO-000123), customer, customer reference or SKU."
    number_lookups = {"SO": "pk"}
    fields = (
        "number",
        "customer",
        "warehouse",
        "priority",
        "status",
        "customer_reference",
        "placed_at",
        "created_by",
        "cancelled_at",
        "cancel_reason",
    )
    # Priority and the customer's reference are the only corrections that do not touch stock.
    readonly_fields = tuple(
        name for name in fields if name not in {"priority", "customer_reference"}
    )
    inlines = (OrderLineInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer", "warehouse", "created_by")

    def has_add_permission(self, request):
        # Placing an order allocates stock and queues the rest; only the order form does that.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="number", ordering="pk")
    def number(self, obj):
        return obj.number


class AllocationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Allocation
    extra = 0
    fields = ("created_at", "kind", "quantity", "release", "shipment", "reason", "created_by")
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("line__order", "line__product", "release", "shipment", "created_by")
        )


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    """Every column of a line is kept by the services, so lines are view-only here."""

    list_display = ("order", "product", "warehouse", *LINE_QUANTITIES, "order_status")
    list_select_related = ("order__warehouse", "product")
    list_filter = ("order__status", "order__warehouse")
    search_fields = ("product__sku", "product__name", "order__customer__name")
    search_help_text = "Search by order number (SO-000123), SKU, product or customer."
    number_lookups = {"SO": "order_id"}
    fields = ("order", "product", *LINE_QUANTITIES, "cancel_reason")
    readonly_fields = fields
    inlines = (AllocationInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order__warehouse", "product")

    @admin.display(description="warehouse", ordering="order__warehouse__code")
    def warehouse(self, obj):
        return obj.order.warehouse.code

    @admin.display(description="order status", ordering="order__status")
    def order_status(self, obj):
        return obj.order.get_status_display()


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "order",
        "product",
        "quantity",
        "kind",
        "release",
        "shipment",
        "reason",
        "created_by",
    )
    list_select_related = ("line__order", "line__product", "release", "shipment", "created_by")
    list_filter = ("kind", "line__order__warehouse")
    date_hierarchy = "created_at"
    search_fields = ("line__product__sku", "line__order__customer__name", "reason")
    search_help_text = (
        "Search by number (SO-000123, REL-000004, SH-000007), SKU, customer or reason."
    )
    number_lookups = {"SO": "line__order_id", "REL": "release_id", "SH": "shipment_id"}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("line__order", "line__product", "release", "shipment", "created_by")
        )

    @admin.display(description="order", ordering="line__order_id")
    def order(self, obj):
        return obj.line.order

    @admin.display(description="product", ordering="line__product__sku")
    def product(self, obj):
        return obj.line.product.sku


class ReleaseAllocationInline(AllocationInline):
    fields = ("line", "quantity", "kind", "reason", "created_by", "created_at")
    readonly_fields = fields


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    list_display = ("number", "warehouse", "shipment", "note", "created_by", "created_at")
    list_select_related = ("warehouse", "shipment", "created_by")
    list_filter = ("warehouse",)
    date_hierarchy = "created_at"
    search_fields = ("note",)
    search_help_text = "Search by number (REL-000004, SH-000007) or note."
    number_lookups = {"REL": "pk", "SH": "shipment_id"}
    inlines = (ReleaseAllocationInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("warehouse", "shipment", "created_by")

    @admin.display(description="number", ordering="pk")
    def number(self, obj):
        return obj.number
