"""Forms of the reorder dashboard: the filters above the suggestions, and the selection the two
actions (draft purchase orders, apply suggested safety stock) post.

The forms only parse ids and flags; which suggestions exist and what they amount to is worked out
again by the services from the database, never taken from the page.
"""

from __future__ import annotations

from django import forms

from common.cleaning import plain_int
from inventory.forms import IdListField
from inventory.models import Warehouse
from suppliers.models import Supplier


class SupplierNameField(forms.ModelChoiceField):
    """An active supplier by its name, typed (a text box: a list of thousands of suppliers would
    be too long to render or scroll), or by its id in a link; the box shows the name."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"type": "search", "autocomplete": "off"})
        )
        super().__init__(queryset=Supplier.objects.filter(is_active=True), **kwargs)
        self.found: Supplier | None = None

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        suppliers = self.queryset
        number = plain_int(value)
        if number is not None:
            found = suppliers.filter(pk=number).first()
        else:
            matches = list(suppliers.filter(name__iexact=value)[:2]) or list(
                suppliers.filter(name__icontains=value)[:2]
            )
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        self.found = found
        return found

    def prepare_value(self, value):
        if self.found is not None:  # the supplier the form was filtered by, named
            return self.found.name
        return value


class ReorderFilterForm(forms.Form):
    """Narrow the suggestions by warehouse, preferred supplier, or to urgent rows only."""

    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True),
        required=False,
        empty_label="All warehouses",
        error_messages={"invalid_choice": "Choose one of the listed warehouses."},
    )
    supplier = SupplierNameField(
        required=False,
        help_text="Its name, or part of a name only one supplier has.",
        error_messages={
            "invalid_choice": "Choose one of the listed suppliers: type the name of one active "
            "supplier (Purchasing › Suppliers lists them)."
        },
    )
    urgent = forms.BooleanField(
        label="Only urgent",
        required=False,
        help_text="Projected below safety stock, or backorders waiting.",
    )

    def filters(self) -> dict:
        """Keyword arguments for inventory.reorder.reorder_suggestions; none when invalid."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "warehouse_id": data["warehouse"].pk if data["warehouse"] else None,
            "supplier_id": data["supplier"].pk if data["supplier"] else None,
            "urgent_only": bool(data["urgent"]),
        }


class ReorderSelectionForm(forms.Form):
    """The ticked suggestions (stock level ids) an action applies to."""

    levels = IdListField(
        label="Suggestions",
        error_messages={
            "required": "Tick at least one suggestion first.",
            "invalid": "The selection was not understood; reload the page and tick the rows again.",
        },
    )
