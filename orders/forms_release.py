"""Forms of the release review: which products at which warehouse, and the staff's decisions.

The proposal itself is never re-posted: the page carries only what staff decided (a quantity per
line, the lines moved up with their reasons, a note) and the fingerprint of the plan they saw.
"""

from __future__ import annotations

import json

from django import forms
from django.conf import settings

from inventory.models import Product, Warehouse
from inventory.ui import QuantityField
from suppliers.selectors import shipment_warehouse_id

from .services import ReleasePlan
from .services.release import MAX_PRODUCTS

MOVED_UP_ERROR = "The moved-up lines could not be read; open the release review again."


class ReleaseSelectionForm(forms.Form):
    """The products to review at one warehouse, optionally right after a shipment landed."""

    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.all(), widget=forms.HiddenInput)
    product = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(), widget=forms.MultipleHiddenInput
    )
    shipment = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    error_messages = {
        "shipment": "That shipment was not received at this warehouse.",
        "too_many": f"Review at most {MAX_PRODUCTS} products at once.",
    }

    def clean_product(self):
        products = self.cleaned_data["product"]
        if len(products) > MAX_PRODUCTS:
            raise forms.ValidationError(self.error_messages["too_many"])
        return products

    def clean(self):
        cleaned = super().clean()
        warehouse, shipment_id = cleaned.get("warehouse"), cleaned.get("shipment")
        if (
            warehouse is not None
            and shipment_id is not None
            and shipment_warehouse_id(shipment_id=shipment_id) != warehouse.pk
        ):
            self.add_error("shipment", self.error_messages["shipment"])
        return cleaned

    def selection(self) -> dict:
        return {
            "warehouse_id": self.cleaned_data["warehouse"].pk,
            "product_ids": sorted(p.pk for p in self.cleaned_data["product"]),
            "shipment_id": self.cleaned_data.get("shipment"),
        }


class ConfirmReleaseForm(ReleaseSelectionForm):
    """The hidden state of a reviewed plan plus the note; quantities live in ReleaseLinesForm."""

    fingerprint = forms.CharField(max_length=64, widget=forms.HiddenInput)
    moved_up = forms.CharField(required=False, max_length=200_000, widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=255,
        label="Note for the record",
        help_text="Optional, e.g. why lines were skipped.",
    )

    def clean_moved_up(self) -> dict[int, str]:
        """[[line id, reason], ...] in the order lines were moved up."""
        raw = self.cleaned_data["moved_up"]
        if not raw:
            return {}
        try:
            pairs = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(MOVED_UP_ERROR) from None
        if not isinstance(pairs, list) or len(pairs) > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:
            raise forms.ValidationError(MOVED_UP_ERROR)
        moved: dict[int, str] = {}
        for pair in pairs:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not isinstance(pair[0], int)
                or isinstance(pair[0], bool)
                or not isinstance(pair[1], str)
                or not pair[1].strip()
                or len(pair[1]) > 255
            ):
                raise forms.ValidationError(MOVED_UP_ERROR)
            moved[pair[0]] = pair[1].strip()
        return moved


def moved_up_dump(moved_up: dict[int, str]) -> str:
    return json.dumps([[line_id, reason] for line_id, reason in moved_up.items()])


class ReleaseLinesForm(forms.Form):
    """One quantity per waiting line of a plan (0 skips it), prefilled with the proposal."""

    def __init__(self, *args, plan: ReleasePlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        for product in plan.products:
            for line in product.lines:
                self.fields[self.field_name(line.line_id)] = QuantityField(
                    min_value=0,
                    required=False,
                    initial=line.quantity,
                    label=f"Units for {line.order_number}",
                )

    @staticmethod
    def field_name(line_id: int) -> str:
        return f"qty_{line_id}"

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            # An emptied box is a mistake; a missing one is a line that joined the queue after
            # the page was shown, which the service's freshness check deals with.
            if name in self.data and cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, "Enter a quantity (0 skips this line).")
        return cleaned

    def products(self):
        """The plan's products, each with its lines paired with their inputs; products with a queue
        come first, the ones nobody waits for after them."""
        return [
            (product, [(line, self[self.field_name(line.line_id)]) for line in product.lines])
            for product in sorted(self.plan.products, key=lambda product: not product.lines)
        ]

    def decided(self) -> list[tuple[int, int]]:
        """(line id, quantity) for every line the staff saw, in the displayed order."""
        decided = []
        for product in self.plan.products:
            for line in product.lines:
                quantity = self.cleaned_data.get(self.field_name(line.line_id))
                if quantity is not None:
                    decided.append((line.line_id, quantity))
        return decided
