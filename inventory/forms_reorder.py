"""Forms of the reorder dashboard: the filters above the suggestions, and the selection the two
actions (draft purchase orders, apply suggested safety stock) post.

The forms only parse ids and flags; which suggestions exist and what they amount to is worked out
again by the services from the database, never taken from the page.
"""

from __future__ import annotations

from django import forms

from suppliers.models import Supplier

from .forms import IdListField
from .models import Warehouse


class ReorderFilterForm(forms.Form):
    """Narrow the suggestions by warehouse, preferred supplier, or to urgent rows only."""

    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True),
        required=False,
        empty_label="All warehouses",
        error_messages={"invalid_choice": "Choose one of the listed warehouses."},
    )
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.filter(is_active=True),
        required=False,
        empty_label="All suppliers",
        error_messages={"invalid_choice": "Choose one of the listed suppliers."},
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
