"""Filters of the stock table. They narrow inventory.selectors.stock_overview(), whose
annotations (available_qty, backordered, on_order, projected) they filter on."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q

from .models import StockLevel, Warehouse


class TickField(forms.BooleanField):
    """Ticked is True; unticked is None, which django-filter treats as "no filter"."""

    def to_python(self, value):
        return True if super().to_python(value) else None


class TickBox(forms.CheckboxInput):
    """A checkbox that reads `?x=off` / `false` / `0` in a hand-edited URL as unticked."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if isinstance(value, str) and value.strip().lower() in {"", "off", "false", "0", "no"}:
            return False
        return super().value_from_datadict(data, files, name)


class CheckboxFilter(django_filters.Filter):
    """A tick box: `?name=on` applies the filter, anything else (or nothing) leaves it off."""

    field_class = TickField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", TickBox)
        super().__init__(*args, **kwargs)


class StockLevelFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.filter(is_active=True),
        empty_label="All warehouses",
        error_messages={"invalid_choice": "Choose one of the listed warehouses."},
    )
    search = django_filters.CharFilter(
        label="SKU or name",
        method="filter_search",
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "SKU or name"}),
    )
    below_safety_stock = CheckboxFilter(label="Below safety stock", method="filter_below_safety")
    has_backorders = CheckboxFilter(label="Has backorders", method="filter_has_backorders")
    releasable = CheckboxFilter(label="Free stock and a queue", method="filter_releasable")

    class Meta:
        model = StockLevel
        fields = ["warehouse"]

    def filter_search(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        return queryset.filter(Q(product__sku__icontains=term) | Q(product__name__icontains=term))

    def filter_below_safety(self, queryset, name, value):
        # Same rule as the home page count: available stock under a safety stock that is set.
        return queryset.filter(safety_stock__gt=0, available_qty__lt=F("safety_stock"))

    def filter_has_backorders(self, queryset, name, value):
        # The stored counter the orders services keep (partial index stocklevel_waiting_idx).
        return queryset.filter(backordered__gt=0)

    def filter_releasable(self, queryset, name, value):
        # Stock on the shelf promised to nobody while order lines wait for it: a release is due.
        return queryset.filter(backordered__gt=0, on_hand__gt=F("allocated"))
