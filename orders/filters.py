"""Filters of the order list and the backorder queue."""

from __future__ import annotations

import datetime as dt
import re

import django_filters
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.db.models import Q
from django.utils import timezone

from common.forms import WholeNumberField
from inventory.models import Warehouse

from .models import OPEN_ORDER_STATUSES, Priority, SalesOrderStatus

# Age of an order in whole days: today minus the local date it was placed on.
AGE_BUCKETS = (
    ("0-7", "0–7 days", 0, 7),
    ("8-14", "8–14 days", 8, 14),
    ("15-30", "15–30 days", 15, 30),
    ("31+", "> 30 days", 31, None),
)


def age_bucket(placed_at: dt.datetime, today: dt.date | None = None) -> str:
    days = age_days(placed_at, today)
    for _key, label, _low, high in AGE_BUCKETS:
        if high is None or days <= high:
            return label
    return AGE_BUCKETS[-1][1]  # pragma: no cover


def age_days(placed_at: dt.datetime, today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return (today - timezone.localtime(placed_at).date()).days


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def age_q(field: str, low: int | None, high: int | None, today: dt.date | None = None) -> Q:
    """Rows whose age in days (by the local date of `field`) lies within [low, high]."""
    today = today or timezone.localdate()
    condition = Q()
    if high is not None:
        condition &= Q(**{f"{field}__gte": _day_start(today - dt.timedelta(days=high))})
    if low:
        condition &= Q(**{f"{field}__lt": _day_start(today - dt.timedelta(days=low - 1))})
    return condition


def bucket_q(key: str, field: str = "order__placed_at") -> Q:
    for bucket_key, _label, low, high in AGE_BUCKETS:
        if bucket_key == key:
            return age_q(field, low, high)
    return Q(pk__in=[])


class FilterForm(forms.Form):
    """Filter forms render as one responsive row with an Apply button (GET, no CSRF token)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.disable_csrf = True
        self.helper.form_class = "mb-3"
        self.helper.layout = Layout(
            Row(
                *[Column(name, css_class="col-6 col-md-4 col-xl") for name in self.fields],
                Column(
                    Submit("", "Apply", css_class="btn-secondary"),
                    css_class="col-auto d-flex align-items-end mb-3",
                ),
                css_class="g-2",
            )
        )


class DaysFilter(django_filters.NumberFilter):
    """A whole number of days (the default number filter would accept 1.5)."""

    field_class = WholeNumberField


ORDER_STATUS_CHOICES = [("open", "Open (waiting or ready)"), *SalesOrderStatus.choices]
PLACED_WITHIN_CHOICES = [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")]


class SalesOrderFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        label="Order or reference", method="filter_search", max_length=60
    )
    status = django_filters.ChoiceFilter(
        choices=ORDER_STATUS_CHOICES, method="filter_status", empty_label="Any status"
    )
    customer = django_filters.CharFilter(
        field_name="customer__name", lookup_expr="icontains", label="Customer", max_length=200
    )
    warehouse = django_filters.ModelChoiceFilter(
        queryset=Warehouse.objects.all(), empty_label="Any warehouse"
    )
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any priority")
    placed_within = django_filters.ChoiceFilter(
        choices=PLACED_WITHIN_CHOICES,
        method="filter_placed_within",
        label="Placed",
        empty_label="Any time",
    )
    older_than = DaysFilter(
        method="filter_older_than", label="Older than (days)", min_value=0, max_value=36500
    )

    class Meta:
        form = FilterForm
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        number = re.fullmatch(r"(?i)(?:SO-?)?0*([0-9]{1,12})", value)
        condition = Q(customer_reference__icontains=value)
        if number:
            condition |= Q(pk=int(number.group(1)))
        return queryset.filter(condition)

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_ORDER_STATUSES)
        return queryset.filter(status=value)

    def filter_placed_within(self, queryset, name, value):
        return queryset.filter(age_q("placed_at", None, int(value) - 1))

    def filter_older_than(self, queryset, name, value):
        return queryset.filter(age_q("placed_at", int(value) + 1, None))


class BackorderFilter(django_filters.FilterSet):
    warehouse = django_filters.ModelChoiceFilter(
        field_name="order__warehouse",
        queryset=Warehouse.objects.all(),
        label="Warehouse",
        empty_label="Any warehouse",
    )
    sku = django_filters.CharFilter(
        field_name="product__sku", lookup_expr="icontains", label="SKU", max_length=40
    )
    customer = django_filters.CharFilter(
        field_name="order__customer__name",
        lookup_expr="icontains",
        label="Customer",
        max_length=200,
    )
    age = django_filters.ChoiceFilter(
        choices=[(key, label) for key, label, _low, _high in AGE_BUCKETS],
        method="filter_age",
        label="Waiting",
        empty_label="Any age",
    )
    priority = django_filters.ChoiceFilter(
        field_name="order__priority",
        choices=Priority.choices,
        label="Priority",
        empty_label="Any priority",
    )

    class Meta:
        form = FilterForm
        fields: list[str] = []

    def filter_age(self, queryset, name, value):
        return queryset.filter(bucket_q(value))


class ReleaseAllocationFilter(django_filters.FilterSet):
    """The allocations of one release; the view gives the release, the filter narrows it."""

    sku = django_filters.CharFilter(
        field_name="line__product__sku", lookup_expr="icontains", label="SKU", max_length=40
    )

    class Meta:
        form = FilterForm
        fields: list[str] = []
