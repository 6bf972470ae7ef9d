"""Filters of the purchasing and receiving lists."""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Layout
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from common.cleaning import plain_int
from inventory.models import Warehouse
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderStatus,
    Supplier,
    SupplierProduct,
)


class InlineFilterSet(django_filters.FilterSet):
    """A filter form laid out in one responsive row, submitted with GET so the URL carries it."""

    @property
    def form(self):
        form = super().form
        if not hasattr(form, "helper"):
            helper = FormHelper(form)
            helper.form_method = "get"
            helper.form_class = "row g-2 align-items-end mb-2"
            helper.layout = Layout(
                *(Div(name, css_class="col-6 col-md-4 col-lg-2") for name in form.fields),
                Div(
                    HTML(
                        '<button type="submit" class="btn btn-primary mb-3">Filter</button> '
                        '<a class="btn btn-link mb-3" href="?">Clear</a>'
                    ),
                    css_class="col-auto",
                ),
            )
            form.helper = helper
        return form


class SupplierLookupField(forms.CharField):
    """A supplier typed by name (any part of it), or its number as a link carries it. A text box,
    not a list: a list of thousands of suppliers takes seconds to render and is no use to scroll."""

    default_error_messages = {
        "unknown": "No supplier has the number %(value)s; type part of its name instead.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"type": "search", "placeholder": "Name"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value).strip()
        if (
            value.isascii()
            and value.isdigit()
            and not (
                (number := plain_int(value)) is not None
                and Supplier.objects.filter(pk=number).exists()
            )
        ):
            raise forms.ValidationError(
                self.error_messages["unknown"], code="unknown", params={"value": value}
            )
        return value


class SupplierLookupFilter(django_filters.Filter):
    """Orders of the supplier with that number, or of every supplier whose name contains the text."""

    field_class = SupplierLookupField

    def filter(self, qs, value):
        if not value:
            return qs
        if (number := plain_int(value)) is not None:
            return qs.filter(supplier_id=number)
        return qs.filter(supplier__name__icontains=value)


def _week_bounds(today: dt.date) -> tuple[dt.date, dt.date]:
    monday = today - dt.timedelta(days=today.weekday())
    return monday, monday + dt.timedelta(days=6)


class ReceivingFilter(InlineFilterSet):
    DUE_CHOICES = [
        ("today", "Due today"),
        ("overdue", "Overdue"),
        ("week", "Due this week"),
    ]

    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.filter(is_active=True), empty_label="Any warehouse"
    )
    supplier = SupplierLookupFilter(label="Supplier")
    due = django_filters.ChoiceFilter(
        choices=DUE_CHOICES, method="filter_due", empty_label="Any date", label="Due"
    )

    class Meta:
        model = PurchaseOrder
        fields = ["warehouse", "supplier", "due"]

    def filter_due(self, queryset, name, value):
        today = timezone.localdate()
        if value == "today":
            return queryset.filter(expected_date=today)
        if value == "overdue":
            return queryset.filter(expected_date__lt=today)
        if value == "week":
            # The calendar week (Monday to Sunday) that contains today.
            start, end = _week_bounds(today)
            return queryset.filter(expected_date__range=(start, end))
        return queryset


class PurchaseOrderFilter(InlineFilterSet):
    number = django_filters.CharFilter(method="filter_number", label="Number")
    status = django_filters.ChoiceFilter(choices=PurchaseOrderStatus.choices, empty_label="Any")
    supplier = SupplierLookupFilter(label="Supplier")
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(), empty_label="Any warehouse"
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label="Overdue only", widget=forms.CheckboxInput
    )

    class Meta:
        model = PurchaseOrder
        fields = ["number", "status", "supplier", "warehouse", "overdue"]

    def filter_number(self, queryset, name, value):
        # "PO-000042", "po42" and "42" all mean purchase order 42. Numbers are ASCII digits
        # (common.cleaning): "PO-４２" is no purchase order's number, not every order.
        value = value or ""
        if any(char.isdigit() and not char.isascii() for char in value):
            return queryset.none()
        digits = re.sub(r"[^0-9]", "", value)
        if not digits:
            return queryset
        if len(digits) > 18:
            return queryset.none()
        return queryset.filter(pk=int(digits))

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(status__in=OPEN_PO_STATUSES, expected_date__lt=timezone.localdate())


class SupplierFilter(InlineFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label="Name")
    sku = django_filters.CharFilter(method="filter_sku", label="Supplies SKU")
    is_active = django_filters.BooleanFilter(
        label="Active",
        widget=forms.Select(
            choices=[("", "Active or not"), ("true", "Active"), ("false", "Inactive")]
        ),
    )

    class Meta:
        model = Supplier
        fields = ["name", "sku", "is_active"]

    def filter_sku(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        # A subquery, not a join: the list's per-supplier counts must not be multiplied.
        supplies = SupplierProduct.objects.filter(supplier=OuterRef("pk")).filter(
            Q(product__sku__icontains=value) | Q(supplier_sku__icontains=value)
        )
        return queryset.filter(Exists(supplies))
