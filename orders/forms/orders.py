"""Forms of the orders pages: place, ship and cancel orders, cancel lines, customers, CSV import."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.db.models.functions import Lower
from django.urls import reverse_lazy

from common.forms import QuantityField
from common.lookups import NameOrNumberField
from inventory.models import Product, Warehouse
from orders.models import Customer, OrderLine, Priority
from orders.services.placement import MAX_LINES


class PlaceOrderForm(forms.Form):
    # Typed, not chosen from a list of every customer (thousands of them): see inventory.lookups.
    customer = NameOrNumberField(
        model=Customer,
        noun="customer",
        datalist_id="customer-options",
        lookup_url=reverse_lazy("orders:customer-lookup"),
    )
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True),
        error_messages={"invalid_choice": "Choose an active warehouse from the list."},
    )
    priority = forms.TypedChoiceField(
        choices=Priority.choices,
        coerce=int,
        initial=Priority.NORMAL,
        error_messages={"invalid_choice": "Choose a priority from the list."},
    )
    customer_reference = forms.CharField(
        max_length=60, required=False, help_text="The customer's own order number, if any."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(
                Column("customer", css_class="col-md-6 col-xl-3"),
                Column("warehouse", css_class="col-md-6 col-xl-3"),
                Column("priority", css_class="col-md-6 col-xl-2"),
                Column("customer_reference", css_class="col-md-6 col-xl-4"),
            )
        )


class OrderLineForm(forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=40,
        required=False,
        widget=forms.TextInput(
            attrs={
                "list": "sku-options",
                "autocomplete": "off",
                "data-sku-lookup": "",
                "placeholder": "Type a SKU",
            }
        ),
    )
    quantity = QuantityField(required=False)

    def clean(self):
        cleaned = super().clean()
        sku = (cleaned.get("sku") or "").strip()
        cleaned["sku"] = sku
        if sku and cleaned.get("quantity") is None and "quantity" not in self.errors:
            self.add_error("quantity", "Enter a quantity for this SKU.")
        if not sku and cleaned.get("quantity") is not None:
            self.add_error("sku", "Enter the SKU this quantity is for.")
        return cleaned


class BaseOrderLineFormSet(forms.BaseFormSet):
    """Lines of a new order: SKUs are looked up ignoring case, all in one query, and an unknown or
    repeated SKU is reported on its own line."""

    def clean(self):
        # SKUs are checked even when another line has a bad quantity, so every mistake on the
        # form shows at once.
        filled = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and form.cleaned_data.get("sku")
        ]
        if not filled:
            if not any(self.errors):
                raise forms.ValidationError("Enter at least one line: a SKU and a quantity.")
            return
        wanted = {form.cleaned_data["sku"].lower() for form in filled}
        products = {
            product.sku_lower: product
            for product in Product.objects.annotate(sku_lower=Lower("sku")).filter(
                sku_lower__in=wanted
            )
        }
        seen: dict[int, int] = {}
        for number, form in enumerate(self.forms, start=1):
            sku = getattr(form, "cleaned_data", {}).get("sku")
            if not sku:
                continue
            product = products.get(sku.lower())
            if product is None:
                form.add_error("sku", f"Unknown SKU “{sku}”.")
            elif not product.is_active:
                form.add_error("sku", f"{product.sku} is no longer sold (inactive).")
            elif product.pk in seen:
                form.add_error(
                    "sku",
                    f"{product.sku} is already on line {seen[product.pk]}; "
                    "put the whole quantity on one line.",
                )
            else:
                seen[product.pk] = number
                form.cleaned_data["product"] = product

    def lines(self) -> list[tuple[int, int]]:
        return [
            (form.cleaned_data["product"].pk, form.cleaned_data["quantity"])
            for form in self.forms
            if form.cleaned_data.get("product")
        ]


OrderLineFormSet = forms.formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=3,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
)


class ShipOrderForm(forms.Form):
    """One quantity per line that has stock allocated, prefilled with all of it."""

    def __init__(self, *args, lines: list[OrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = [line for line in lines if line.quantity_allocated > 0]
        for line in self.lines:
            self.fields[self.field_name(line)] = QuantityField(
                label=f"{line.product.sku} – {line.product.name}",
                required=False,
                min_value=0,
                max_value=line.quantity_allocated,
                initial=line.quantity_allocated,
                error_messages={
                    "max_value": "Only %(limit_value)s are allocated on this line.",
                    "min_value": "The quantity to ship cannot be negative.",
                },
                help_text=f"{line.quantity_allocated} allocated",
            )

    @staticmethod
    def field_name(line: OrderLine) -> str:
        return f"line_{line.pk}"

    def rows(self):
        return [(line, self[self.field_name(line)]) for line in self.lines]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not any(cleaned.get(self.field_name(line)) for line in self.lines):
            raise forms.ValidationError("Enter a quantity to ship on at least one line.")
        return cleaned

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[self.field_name(line)]
            for line in self.lines
            if self.cleaned_data.get(self.field_name(line))
        }


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Customer no longer needs it"}),
        help_text="Kept with the order's history.",
    )


class CreateCustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(required=False, help_text="Ready-to-ship notices go here.")


class UploadOrdersForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: order_ref, customer, warehouse, priority, sku, quantity.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ConfirmImportForm(forms.Form):
    only_valid = forms.BooleanField(
        required=False,
        label="Import only the valid rows",
        help_text="Orders with any invalid row are skipped as a whole.",
    )
