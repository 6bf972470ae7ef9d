"""Forms of the release review: which products at which warehouse, and the staff's decisions.

The proposal itself is never re-posted: the page carries only what staff decided (a quantity per
line, the lines moved up with their reasons, a note) and the fingerprint of the plan they saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.urls import reverse

from common.cleaning import plain_int
from common.forms import QuantityField, WholeNumberField
from common.input_guard import has_control_characters, json_loads_bounded
from inventory.models import Product, Warehouse
from orders.services import ReleaseLineProposal, ReleasePlan
from orders.services.release import MAX_PRODUCTS
from suppliers.selectors import shipment_warehouse_id

MOVED_UP_ERROR = "The moved-up lines could not be read; open the release review again."
MOVED_UP_REASON_ERROR = (
    "A reason for moving a line up holds invisible control characters (such as NUL or a tab); "
    "move that line back, then up again with the reason typed anew. Nothing was applied."
)
# [[line id, reason], ...]: a list of pairs, nested two deep and never deeper.
MOVED_UP_DEPTH = 2


class ProductIdsField(forms.ModelMultipleChoiceField):
    """Products by id. Django checks the ids with one `pk__in` query, and on SQLite an id beyond
    64 bits overflows the driver there (a server error); such an id is refused first."""

    def _check_values(self, value):
        for pk in value:
            if plain_int(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class ReleaseSelectionForm(forms.Form):
    """The products to review at one warehouse, optionally right after a shipment landed."""

    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.all(), widget=forms.HiddenInput)
    product = ProductIdsField(queryset=Product.objects.all(), widget=forms.MultipleHiddenInput)
    shipment = WholeNumberField(required=False, min_value=1, widget=forms.HiddenInput)

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
            pairs = json_loads_bounded(
                raw, max_chars=self.fields["moved_up"].max_length, max_depth=MOVED_UP_DEPTH
            )
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
            # JSON escapes ("\\u0000") pass the middleware's look at the posted text; the decoded
            # reason meets the same rule as a typed single-line field.
            if has_control_characters(pair[1].strip()):
                raise forms.ValidationError(MOVED_UP_REASON_ERROR)
            moved[pair[0]] = pair[1].strip()
        return moved


def moved_up_dump(moved_up: dict[int, str]) -> str:
    return json.dumps([[line_id, reason] for line_id, reason in moved_up.items()])


# The review's size is bounded whatever the queues hold: reviewing several products, each shows
# its first lines in the order they would be served (an equal share of PAGE_LINES, at least
# MIN_LINES_PER_PRODUCT); one product alone shows PAGE_LINES. Lines not shown get what is proposed.
PAGE_LINES = 400
MIN_LINES_PER_PRODUCT = 2

UNKNOWN_LINE_ERROR = (
    "A quantity was sent for an order line that is not waiting in this release (line %(line)s). "
    "Nothing was applied."
)


def lines_per_product(products: int) -> int:
    """How many lines of each product the review shows with a box to change."""
    return max(MIN_LINES_PER_PRODUCT, PAGE_LINES // max(1, products))


@dataclass(frozen=True)
class HiddenLines:
    """What the proposal does with the lines of a product that the page does not show."""

    count: int
    served: int
    units: int


class ReleaseRow(NamedTuple):
    """One shown line and its box, worked out in Python: the review draws hundreds of them."""

    line: ReleaseLineProposal
    order_url: str
    placed_on: str
    name: str
    value: object
    errors: Sequence[str]


class ReleaseLinesForm(forms.Form):
    """One quantity per shown line of a plan (0 skips it), prefilled with the proposal.

    The page shows a bounded number of lines per product (`lines_per_product`); every other line
    of the plan is released exactly as proposed. A posted quantity for a line of the plan that the
    page did not show is still a decision and is honoured; one for a line that is not in the plan
    is refused, with nothing applied."""

    def __init__(self, *args, plan: ReleasePlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.per_product = lines_per_product(len(plan.products))
        self.unknown_lines: list[str] = []
        for product in plan.products:
            for line in product.lines[: self.per_product]:
                self.fields[self.field_name(line.line_id)] = self.quantity_field(line)
        if self.is_bound:
            self.fields_for_posted_lines()

    @staticmethod
    def field_name(line_id: int) -> str:
        return f"qty_{line_id}"

    @staticmethod
    def quantity_field(line) -> QuantityField:
        return QuantityField(
            min_value=0,
            required=False,
            initial=line.quantity,
            label=f"Units for {line.order_number}",
        )

    def fields_for_posted_lines(self) -> None:
        """Boxes posted for lines the page did not show: a line of the plan gets its field, any
        other is remembered to be refused."""
        posted = [key for key in self.data if key.startswith("qty_") and key not in self.fields]
        if not posted:
            return
        lines = {
            self.field_name(line.line_id): line
            for product in self.plan.products
            for line in product.lines
        }
        for key in posted:
            if key in lines:
                self.fields[key] = self.quantity_field(lines[key])
            else:
                self.unknown_lines.append(key.removeprefix("qty_")[:20])

    def clean(self):
        cleaned = super().clean()
        if self.unknown_lines:
            raise forms.ValidationError(
                UNKNOWN_LINE_ERROR, code="unknown_line", params={"line": self.unknown_lines[0]}
            )
        for name in self.fields:
            # An emptied box is a mistake; a box that was not posted is a line released as proposed.
            if name in self.data and cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, "Enter a quantity (0 skips this line).")
        return cleaned

    @property
    def longest_queue(self) -> int:
        return max((len(product.lines) for product in self.plan.products), default=0)

    def products(self):
        """The plan's products, each with its shown lines paired with their inputs and what the
        proposal does with the lines not shown (None when all are shown); products with a queue
        come first, the ones nobody waits for after them."""
        shown = []
        for product in sorted(self.plan.products, key=lambda product: not product.lines):
            rows = [self.row(line) for line in product.lines[: self.per_product]]
            rest = product.lines[self.per_product :]
            hidden = (
                HiddenLines(
                    count=len(rest),
                    served=sum(1 for line in rest if line.quantity),
                    units=sum(line.quantity for line in rest),
                )
                if rest
                else None
            )
            shown.append((product, rows, hidden))
        return shown

    def row(self, line) -> ReleaseRow:
        name = self.field_name(line.line_id)
        if self.is_bound:
            value, errors = self[name].value(), self.errors.get(name, ())
        else:
            value, errors = line.quantity, ()
        return ReleaseRow(
            line=line,
            order_url=reverse("orders:order-detail", args=[line.order_id]),
            placed_on=f"{line.placed_on.day} {line.placed_on:%b %Y}",
            name=name,
            value="" if value is None else value,
            errors=errors,
        )

    def decided(self) -> list[tuple[int, int]]:
        """(line id, quantity) for every line of the plan, in the displayed order: what the staff
        entered where there was a box, what was proposed everywhere else."""
        decided = []
        for product in self.plan.products:
            for line in product.lines:
                name = self.field_name(line.line_id)
                quantity = self.cleaned_data.get(name) if name in self.fields else None
                decided.append((line.line_id, line.quantity if quantity is None else quantity))
        return decided
