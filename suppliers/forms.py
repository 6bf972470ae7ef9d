"""Forms of the purchasing and receiving pages. They parse input; the services decide."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from django import forms
from django.conf import settings
from django.db.models.functions import Lower
from django.urls import reverse_lazy
from django.utils import timezone

from common.forms import QuantityField
from common.lookups import NameOrNumberField
from inventory.models import Product, Warehouse
from suppliers.models import PurchaseOrderLine, Supplier
from suppliers.services import MAX_LINES, MAX_UNIT_COST, PurchaseLineInput

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class ReceiveShipmentForm(forms.Form):
    """What arrived on each line of one purchase order; 0 means nothing came for that line."""

    reference = forms.CharField(
        label="Delivery reference",
        max_length=100,
        required=False,
        help_text="Delivery note or carrier reference, as printed on the paperwork.",
    )
    # Generated when the form is first shown; the service records each key once (rule 5).
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, lines: Iterable[PurchaseOrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[self.field_name(line)] = QuantityField(
                min_value=0,
                initial=line.outstanding,
                label=f"{line.product.sku} arrived",
            )

    @staticmethod
    def field_name(line: PurchaseOrderLine) -> str:
        return f"line_{line.pk}"

    def rows(self):
        """Each purchase order line with the input for what arrived on it."""
        return [(line, self[self.field_name(line)]) for line in self.lines]

    def quantities(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[self.field_name(line)] for line in self.lines}


def fresh_key(candidate: str | None = None) -> str:
    """Keep a well-formed key from the posted form (so a corrected resubmission still counts
    once); anything else gets a new one."""
    if candidate and KEY_PATTERN.match(candidate):
        return candidate
    return uuid.uuid4().hex


class CreatePurchaseOrderForm(forms.Form):
    # Typed, not chosen from a list of every supplier (thousands of them): see inventory.lookups.
    supplier = NameOrNumberField(
        model=Supplier,
        noun="supplier",
        datalist_id="supplier-options",
        lookup_url=reverse_lazy("suppliers:supplier-lookup"),
    )
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.filter(is_active=True))
    expected_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=(
            "Leave empty to use today plus the longest lead time in this supplier's terms for "
            "the products below."
        ),
    )
    notes = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    once_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_expected_date(self):
        value = self.cleaned_data["expected_date"]
        if value and value < timezone.localdate():
            raise forms.ValidationError("The expected date is in the past.")
        return value


class PurchaseOrderLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=40)
    quantity = QuantityField()
    unit_cost = forms.DecimalField(
        label="Unit cost",
        required=False,
        min_value=0,
        max_value=MAX_UNIT_COST,
        max_digits=12,
        decimal_places=2,
        help_text="Empty: the supplier's price.",
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": "from terms"}),
    )


class BasePurchaseOrderLineFormSet(forms.BaseFormSet):
    """Turns each typed SKU (any case) into a product in one query and refuses duplicates."""

    def filled_forms(self):
        return [
            form
            for form in self.forms
            if form.has_changed() and form.is_valid() and form.cleaned_data.get("sku")
        ]

    def clean(self):
        if any(self.errors):
            return
        forms_with_sku = self.filled_forms()
        if not forms_with_sku:
            raise forms.ValidationError("Add at least one line: a SKU and a quantity.")
        wanted = {form.cleaned_data["sku"].strip().lower() for form in forms_with_sku}
        products = {
            product.sku_lower: product
            for product in Product.objects.annotate(sku_lower=Lower("sku")).filter(
                sku_lower__in=wanted, is_active=True
            )
        }
        seen: set[int] = set()
        for form in forms_with_sku:
            typed = form.cleaned_data["sku"].strip()
            product = products.get(typed.lower())
            if product is None:
                form.add_error("sku", f"Unknown SKU “{typed}”.")
            elif product.pk in seen:
                form.add_error(
                    "sku",
                    f"{product.sku} is already on another line; put the whole quantity there.",
                )
            else:
                seen.add(product.pk)
                form.cleaned_data["product"] = product

    def line_inputs(self) -> list[PurchaseLineInput]:
        return [
            PurchaseLineInput(
                product_id=form.cleaned_data["product"].pk,
                quantity=form.cleaned_data["quantity"],
                unit_cost=form.cleaned_data.get("unit_cost"),
            )
            for form in self.filled_forms()
        ]

    def product_ids(self) -> list[int]:
        return [form.cleaned_data["product"].pk for form in self.filled_forms()]


PurchaseOrderLineFormSet = forms.formset_factory(
    PurchaseOrderLineForm,
    formset=BasePurchaseOrderLineFormSet,
    extra=5,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
)


class CancelPurchaseOrderForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the order is cancelled, e.g. “supplier discontinued the product”.",
    )


class ProductImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            "UTF-8 CSV with a header row: sku, name, unit, supplier, supplier_sku, unit_cost, "
            "lead_time_days, min_order_qty, pack_size, preferred."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings_import_max_bytes()
        if upload.size > limit:
            raise forms.ValidationError(
                "The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.",
                code="too_big",
                params={"size": f"{upload.size / 1_000_000:.1f}", "limit": limit // 1_000_000},
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.", code="empty")
        return upload


class ProductImportConfirmForm(forms.Form):
    only_valid = forms.BooleanField(
        required=False,
        label="Import only the valid rows and leave out the rows marked invalid",
    )


def settings_import_max_bytes() -> int:
    return getattr(settings, "BACKSTOCK_IMPORT_MAX_BYTES", 20_000_000)
