"""Forms of the stock pages: safety stock (inline and bulk), adjust / count, transfer, CSV import.

Forms only parse and bound the input; the rules (never below allocated, nothing owed to the queue
leaves, …) live in inventory.services and come back as ValidationErrors the views attach here.
"""

from __future__ import annotations

from django import forms

from common.cleaning import plain_int
from common.forms import QuantityField, WholeNumberField

from .models import Warehouse

# A bulk edit covers at most a few pages of the stock table; anything larger is not a person
# ticking boxes.
MAX_BULK_LEVELS = 1000


class IdListField(forms.Field):
    """A list of database ids from repeated inputs (`levels=3&levels=7`), each a positive int."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one row.",
        "invalid": "The selection is not valid; reload the page and tick the rows again.",
        "too_many": "Choose at most %(limit)s rows at once.",
    }

    def __init__(self, *, max_items: int = MAX_BULK_LEVELS, **kwargs):
        self.max_items = max_items
        super().__init__(**kwargs)

    def to_python(self, value) -> list[int]:
        if value in self.empty_values:
            return []
        if isinstance(value, str):
            value = [value]
        ids = []
        for raw in value:
            pk = plain_int(str(raw).strip())
            if pk is None or pk < 1:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            ids.append(pk)
        unique = sorted(set(ids))
        if len(unique) > self.max_items:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": self.max_items}
            )
        return unique

    def validate(self, value):
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class ReasonField(forms.CharField):
    def __init__(self, *, required: bool = True, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off"}))
        super().__init__(required=required, strip=True, **kwargs)


class SetSafetyStockForm(forms.Form):
    """One level's safety stock, edited inline in the stock table."""

    value = QuantityField(label="Safety stock", min_value=0)
    reason = ReasonField(required=False, label="Reason (optional)")


class BulkSafetyStockForm(forms.Form):
    """The same safety stock for every ticked row of the stock table."""

    levels = IdListField(label="Rows")
    value = QuantityField(label="Safety stock", min_value=0)
    reason = ReasonField(required=False, label="Reason (optional)")


class AdjustStockForm(forms.Form):
    """Correct on-hand stock: add or remove a quantity, or record what a physical count found."""

    ADD, REMOVE, COUNT = "add", "remove", "count"
    MODE_CHOICES = [
        (ADD, "Add stock (found, returned)"),
        (REMOVE, "Remove stock (damaged, lost)"),
        (COUNT, "Set to a physical count"),
    ]

    mode = forms.ChoiceField(
        label="What happened", choices=MODE_CHOICES, initial=ADD, widget=forms.RadioSelect
    )
    quantity = QuantityField(
        label="Quantity",
        min_value=0,
        help_text="For a count, the quantity you counted on the shelf (0 if none).",
    )
    reason = ReasonField(
        label="Reason", help_text="Shown in the ledger, e.g. “Cycle count aisle 4”."
    )

    def clean(self):
        cleaned = super().clean()
        mode, quantity = cleaned.get("mode"), cleaned.get("quantity")
        if mode in (self.ADD, self.REMOVE) and quantity == 0:
            self.add_error("quantity", "Enter a quantity of at least 1 to add or remove.")
        return cleaned

    def delta(self) -> int:
        """The signed change for add / remove."""
        quantity = self.cleaned_data["quantity"]
        return -quantity if self.cleaned_data["mode"] == self.REMOVE else quantity


class TransferStockForm(forms.Form):
    """Move free stock of one product from this level's warehouse to another."""

    to_warehouse = forms.ModelChoiceField(
        label="To warehouse",
        queryset=Warehouse.objects.none(),
        empty_label="Choose a warehouse",
        error_messages={"invalid_choice": "Choose one of the listed warehouses."},
    )
    quantity = QuantityField(label="Quantity")
    reason = ReasonField(label="Reason")

    def __init__(self, *args, from_warehouse_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_warehouse"].queryset = Warehouse.objects.filter(is_active=True).exclude(
            pk=from_warehouse_id
        )


class ChartWarehouseForm(forms.Form):
    """The optional `?warehouse=` of the stock-over-time chart; garbage is a 404, not a 500."""

    warehouse = WholeNumberField(required=False, min_value=1)
