"""Admin for data fixes on products, warehouses and stock.

Stock quantities are never typed into the admin: on_hand changes only through the "Adjust stock…"
action, which calls the same service as the app, so every change leaves a ledger row. The ledger
and safety stock history are read-only here.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from common.admin import (
    MAX_QUANTITY,
    DocumentNumberSearchMixin,
    EditedColumnsOnlyMixin,
    ReadOnlyAdminMixin,
    edited_columns,
)
from common.forms import WholeNumberField
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement, Warehouse
from inventory.services import reorder_point_record, safety_stock_record, stock_adjust

# --- inventory models --------------------------------------------------------------------------


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")


class StockLevelInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StockLevel
    extra = 0
    fields = ("warehouse", "on_hand", "allocated", "available", "safety_stock", "reorder_point")
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("warehouse", "product")

    @admin.display(description="available")
    def available(self, obj):
        return obj.available


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "unit", "is_active", "created_at")
    list_filter = ("is_active", "unit")
    search_fields = ("sku", "name")
    readonly_fields = ("created_at",)
    # suppliers.admin adds the product's supply terms (that app owns them).
    inlines = (StockLevelInline,)


class StockLevelAdminForm(forms.ModelForm):
    safety_stock = WholeNumberField(min_value=0, max_value=MAX_QUANTITY, initial=0)
    reorder_point = WholeNumberField(
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        help_text="Leave empty to use the computed reorder point.",
    )

    class Meta:
        model = StockLevel
        fields = ("product", "warehouse", "safety_stock", "reorder_point")


class StockStateFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return (
            ("empty", "Nothing on hand"),
            ("allocated", "Has allocations"),
            ("below_safety", "Available below safety stock"),
        )

    def queryset(self, request, queryset):
        match self.value():
            case "empty":
                return queryset.filter(on_hand=0)
            case "allocated":
                return queryset.filter(allocated__gt=0)
            case "below_safety":
                return queryset.filter(on_hand__lt=F("allocated") + F("safety_stock"))
        return queryset


class AdjustStockForm(forms.Form):
    delta = WholeNumberField(
        label="Change in on hand",
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        help_text="Signed: 5 adds five, -5 removes five.",
    )
    reason = forms.CharField(max_length=255, help_text="Why the stock is being corrected.")

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise ValidationError("The change cannot be zero.", code="zero")
        return delta


@admin.register(StockLevel)
class StockLevelAdmin(EditedColumnsOnlyMixin, admin.ModelAdmin):
    form = StockLevelAdminForm
    list_display = (
        "product",
        "warehouse",
        "on_hand",
        "allocated",
        "available",
        "safety_stock",
        "reorder_point",
    )
    list_select_related = ("product", "warehouse")
    list_filter = ("warehouse", StockStateFilter)
    search_fields = ("product__sku", "product__name", "warehouse__code")
    search_help_text = "Search by SKU, product name or warehouse code."
    autocomplete_fields = ("product",)
    fields = (
        "product",
        "warehouse",
        "on_hand",
        "allocated",
        "available",
        "safety_stock",
        "reorder_point",
        "ledger",
    )
    actions = ("adjust_stock",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_qty=F("on_hand") - F("allocated"))

    def get_readonly_fields(self, request, obj=None):
        # New levels start empty; stock arrives through the adjust action, receipts or counts.
        readonly = ["on_hand", "allocated", "available", "ledger"]
        if obj is not None:
            # Moving a level to another product or warehouse would orphan its ledger.
            readonly += ["product", "warehouse"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False

    def has_adjust_stock_permission(self, request):
        return request.user.has_perm("inventory.adjust_stock")

    @admin.display(description="available", ordering="available_qty")
    def available(self, obj):
        return obj.available

    @admin.display(description="ledger")
    def ledger(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:inventory_stockmovement_changelist") + f"?level__id__exact={obj.pk}"
        return format_html('<a href="{}">Stock movements</a>', url)

    # Columns with a service of their own, which the admin's edit goes through.
    SERVICE_COLUMNS = ("safety_stock", "reorder_point")

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            if obj.reorder_point is not None:
                reorder_point_record(level_id=obj.pk, value=obj.reorder_point)
            return
        # Through the services (each runs inside the change view's transaction): the safety
        # stock's keeps its history, the reorder point's tells planning; the other edited
        # columns save after.
        if "safety_stock" in form.changed_data:
            safety_stock_record(
                values={obj.pk: (obj.safety_stock, "Changed in the admin")}, by=request.user
            )
        if "reorder_point" in form.changed_data:
            reorder_point_record(level_id=obj.pk, value=obj.reorder_point)
        others = [
            name
            for name in edited_columns(obj, form.changed_data)
            if name not in self.SERVICE_COLUMNS
        ]
        if others:
            obj.save(update_fields=others)

    @admin.action(description="Adjust stock…", permissions=["adjust_stock"])
    def adjust_stock(self, request, queryset):
        levels = list(queryset.select_related("product", "warehouse").order_by("pk"))
        if "apply" in request.POST:
            form = AdjustStockForm(request.POST)
            if form.is_valid():
                self._adjust_levels(request, levels, **form.cleaned_data)
                return None  # back to the changelist, which shows the messages
        else:
            form = AdjustStockForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Adjust stock",
            "subtitle": None,
            "opts": self.opts,
            "levels": levels,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/inventory/stocklevel/adjust_stock.html", context)

    def _adjust_levels(self, request, levels, *, delta, reason):
        # One service call (and transaction) per level: a level that cannot take the change is
        # reported and the others still go through.
        adjusted = []
        for level in levels:
            try:
                movement = stock_adjust(
                    level_id=level.pk, delta=delta, reason=reason, by=request.user
                )
            except ValidationError as exc:
                self.message_user(request, f"{level}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                adjusted.append(f"{level} now {movement.balance_after}")
        if adjusted:
            summary = ngettext(
                "Adjusted %(count)d stock level by %(delta)+d: %(levels)s.",
                "Adjusted %(count)d stock levels by %(delta)+d: %(levels)s.",
                len(adjusted),
            ) % {"count": len(adjusted), "delta": delta, "levels": "; ".join(adjusted)}
            self.message_user(request, summary, messages.SUCCESS)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, DocumentNumberSearchMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "level",
        "kind",
        "quantity",
        "balance_after",
        "reference",
        "reason",
        "created_by",
    )
    list_select_related = ("level__product", "level__warehouse", "created_by")
    list_filter = ("kind", "level__warehouse")
    date_hierarchy = "created_at"
    search_fields = ("level__product__sku", "level__product__name", "reference", "reason")
    search_help_text = "Search by SKU, product name, reason or document number (SO-000123)."

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("level__product", "level__warehouse", "created_by")
        )

    def number_filter(self, prefix, pk):
        # Movements name their documents in `reference` in the canonical form, sometimes two of
        # them ("PO-000045 SH-000007" for a receipt).
        return Q(reference__icontains=f"{prefix}-{pk:06d}")


@admin.register(SafetyStockChange)
class SafetyStockChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("changed_at", "level", "old_value", "new_value", "reason", "changed_by")
    list_select_related = ("level__product", "level__warehouse", "changed_by")
    list_filter = ("level__warehouse",)
    date_hierarchy = "changed_at"
    search_fields = ("level__product__sku", "level__product__name", "reason")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("level__product", "level__warehouse", "changed_by")
        )
