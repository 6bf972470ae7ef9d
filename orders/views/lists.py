"""The order list and the backorder queue across products."""

from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from common.views import CsvExportMixin

from ..filters import AGE_BUCKETS, BackorderFilter, SalesOrderFilter
from ..selectors import (
    backorder_age_totals,
    backorder_lines,
    line_etas,
    orders_listed,
    queue_position,
)
from ..tables import BackorderTable, SalesOrderTable


class OrderListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "orders.view_salesorder"
    table_class = SalesOrderTable
    filterset_class = SalesOrderFilter
    table_pagination = {"per_page": 50}
    template_name = "orders/salesorder_list.html"
    export_name = "orders"

    def get_queryset(self):
        return orders_listed()


class BackorderListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "orders.view_orderline"
    table_class = BackorderTable
    filterset_class = BackorderFilter
    table_pagination = {"per_page": 50}
    template_name = "orders/orderline_list.html"
    export_name = "backorders"

    def get_queryset(self):
        return backorder_lines().annotate(position=queue_position())

    def get_table_kwargs(self):
        return {
            "can_cancel": self.request.user.has_perm("orders.cancel_salesorder"),
            "back_url": self.request.get_full_path(),
        }

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        # ETAs for the rows shown only (the page, or every row of an export): three queries.
        rows = table.page.object_list if hasattr(table, "page") else table.rows
        table.etas = line_etas(lines=[row.record for row in rows])
        return table

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if paginate is False:
            return paginate
        # The age buckets split every listed line by age, so their totals are also the count
        # the paginator needs: no second COUNT over the waiting lines and their orders.
        return {**paginate, "paginator_class": CountedPaginator, "count": self.listed_count()}

    def listed_count(self) -> int:
        if self.filterset.is_bound and not self.filterset.is_valid():
            return 0
        totals = self.bucket_totals()
        age = self.filterset.form.cleaned_data.get("age") if self.filterset.is_bound else ""
        keys = [age] if age else [key for key, *_ in AGE_BUCKETS]
        return sum(totals[f"lines_{key}"] for key in keys)

    def bucket_totals(self) -> dict:
        """Lines and units per age bucket (one query). They follow the other filters but not
        the age filter itself, so each bucket stays visible (and clickable) while one is
        selected."""
        if not hasattr(self, "_bucket_totals"):
            data = self.request.GET.copy()
            data.pop("age", None)
            data.pop("page", None)
            others = BackorderFilter(data or None, queryset=backorder_lines(), request=self.request)
            lines = (
                others.qs if not others.is_bound or others.is_valid() else others.queryset.none()
            )
            self._bucket_totals = backorder_age_totals(lines=lines)
        return self._bucket_totals

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        totals = self.bucket_totals()
        data = self.request.GET.copy()
        data.pop("page", None)
        selected = self.request.GET.get("age", "")
        context["buckets"] = []
        for key, label, *_ in AGE_BUCKETS:
            data["age"] = key
            context["buckets"].append(
                {
                    "key": key,
                    "label": label,
                    "lines": totals[f"lines_{key}"] or 0,
                    "units": totals[f"units_{key}"],
                    "url": f"?{data.urlencode()}",
                    "selected": key == selected,
                }
            )
        return context


class CountedPaginator(Paginator):
    """A paginator told its count, for a list whose count another query already gave."""

    def __init__(self, object_list, per_page, *args, count: int, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count
