"""The reorder dashboard (Managers): KPIs, charts, suggestions grouped by preferred supplier, the
two actions on a selection (draft purchase orders, apply suggested safety stock) and the CSV.

Every number comes from `planning.selectors` and the writes from `planning.services`; the views
only parse the input, call them, and say what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig
from django_tables2.data import TableListData

from planning.charts import AgingBucket, aging_bars_svg, backorders_line_svg, lead_time_bars_svg
from planning.forms import ReorderFilterForm, ReorderSelectionForm
from planning.selectors import (
    SuggestionPages,
    backordered_units_history,
    reorder_kpis,
    suggestions_csv_rows,
    supplier_lead_time_chart,
)
from planning.services import purchase_orders_draft_from_suggestions, safety_stock_apply_suggested
from planning.tables import ReorderSuggestionTable, csv_text
from planning.working import money

PERMISSION = "inventory.view_reorder_dashboard"
# How many levels are named one by one in a message before "and N more".
MESSAGE_LIST_LIMIT = 8


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: str
    definition: str
    sub: str = ""
    details: tuple[str, ...] = ()
    url: str = ""


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f} %"


def kpi_cards(kpis: dict) -> list[Kpi]:
    """The KPI dict of `reorder_kpis` as cards, each with its definition."""
    definitions = kpis["definitions"]
    backorders_url = reverse("orders:backorder-list")
    stock_url = reverse("inventory:stock-list")
    oldest = kpis["aging"][-1] if kpis["aging"] else None
    return [
        Kpi(
            "backorder-lines",
            "Open backorder lines",
            f"{kpis['backorder_lines']:,}",
            definitions["backorder_lines"],
            url=backorders_url,
        ),
        Kpi(
            "backorder-units",
            "Backordered units",
            f"{kpis['backorder_units']:,}",
            definitions["backorder_units"],
        ),
        Kpi(
            "backorder-value",
            "Backorder value",
            money(kpis["backorder_value"]),
            definitions["backorder_value"],
        ),
        Kpi(
            "fill-rate",
            "Fill rate, last 30 days",
            _percent(kpis["fill_rate"]),
            definitions["fill_rate"],
            sub=f"{kpis['fill_rate_filled']:,} of {kpis['fill_rate_lines']:,} lines filled when placed",
        ),
        Kpi(
            "below-safety",
            "Below safety stock",
            f"{kpis['below_safety_stock']:,}",
            definitions["below_safety_stock"],
            sub="product × warehouse levels",
            url=f"{stock_url}?below_safety_stock=on",
        ),
        Kpi(
            "stockouts",
            "Stockouts",
            f"{kpis['stockouts']:,}",
            definitions["stockouts"],
            sub="levels with nothing available and recent demand",
        ),
        Kpi(
            "on-time",
            "Supplier on-time rate",
            _percent(kpis["on_time_rate"]),
            definitions["on_time_rate"],
            sub=f"{kpis['on_time_deliveries']:,} of {kpis['deliveries']:,} first deliveries on time",
        ),
        Kpi(
            "aging",
            "Backorder aging",
            f"{oldest['lines']:,} lines > 30 days" if oldest else "—",
            definitions["aging"],
            details=tuple(
                f"{bucket['label']}: {bucket['lines']:,} lines, {bucket['units']:,} units"
                for bucket in kpis["aging"]
            ),
        ),
    ]


def _back(request) -> str:
    """The dashboard as the user left it (filters kept), if the posted address is ours."""
    fallback = reverse("planning:reorder-dashboard")
    target = request.POST.get("next") or ""
    if target.startswith(fallback) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _listing(items: list[str], total: int | None = None, sep: str = ", ") -> str:
    """The first few items, then how many more there are (of `total`, if only some were given)."""
    total = len(items) if total is None else total
    shown = sep.join(items[:MESSAGE_LIST_LIMIT])
    rest = total - min(len(items), MESSAGE_LIST_LIMIT)
    return f"{shown} and {rest} more" if rest > 0 else shown


def _page_number(value: str | None) -> int:
    """The page asked for, as django-tables2 reads it (anything odd is the first page)."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return number if number >= 1 else 1


class ReorderDashboardView(PermissionRequiredMixin, TemplateView):
    """What to buy this morning, why, and how backorders and suppliers are doing."""

    permission_required = PERMISSION
    template_name = "planning/reorder_dashboard.html"
    per_page = 100
    history_days = 90
    # Suppliers compared in the lead-time chart: those of the suggestions on the page.
    chart_suppliers = 20

    def get(self, request, *args, **kwargs):
        self.filter_form = ReorderFilterForm(request.GET or None)
        self.filters = self.filter_form.filters() if request.GET else {}
        if request.GET.get("_export") == "csv":
            return self.csv_response()
        return super().get(request, *args, **kwargs)

    @property
    def filters_valid(self) -> bool:
        return not (self.filter_form.is_bound and not self.filter_form.is_valid())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        can_apply = user.has_perm("inventory.set_safety_stock")
        if self.filters_valid:
            # Ask for the requested page straight away; beyond the last page the table asks for
            # the last one (one more screen query, only then).
            number = _page_number(self.request.GET.get("page"))
            suggestions = SuggestionPages(
                self.filters, per_page=self.per_page, first_offset=(number - 1) * self.per_page
            )
            data = TableListData(suggestions)
        else:
            suggestions = None
            data = []
        table = ReorderSuggestionTable(data, can_apply=can_apply)
        RequestConfig(self.request, paginate={"per_page": self.per_page}).configure(table)
        # The pass behind the suggestions also counted the catalogue's stockouts and valued its
        # backorder; without valid filters the KPIs make that pass themselves.
        kpis = reorder_kpis(catalogue=suggestions.catalogue if suggestions else None)
        aging = [
            AgingBucket(bucket["label"], bucket["lines"], bucket["units"])
            for bucket in kpis["aging"]
        ]
        lead_times = supplier_lead_time_chart(
            stats=suggestions.lead_times if suggestions else {}, limit=self.chart_suppliers
        )
        history = backordered_units_history(days=self.history_days, current=kpis["backorder_units"])
        context.update(
            filter_form=self.filter_form,
            table=table,
            rows_total=suggestions.total if suggestions else 0,
            urgent_total=suggestions.urgent if suggestions else 0,
            kpi_cards=kpi_cards(kpis),
            aging=aging,
            lead_times=lead_times,
            backorders_chart=backorders_line_svg(history),
            aging_chart=aging_bars_svg(aging),
            lead_time_chart=lead_time_bars_svg(lead_times),
            can_order=user.has_perm("suppliers.add_purchaseorder"),
            can_apply=can_apply,
            settings_used={
                "window": settings.BACKSTOCK_DEMAND_WINDOW_DAYS,
                "service_level": f"{settings.BACKSTOCK_SERVICE_LEVEL * 100:g} %",
                "review": settings.BACKSTOCK_REVIEW_PERIOD_DAYS,
            },
        )
        return context

    def csv_response(self) -> StreamingHttpResponse:
        """The suggestions as filtered on screen, written as the response is sent: the rows are
        read through one streamed query and computed as they go, so memory stays flat and the
        queries are the same whatever the number of rows."""
        rows = suggestions_csv_rows(**self.filters) if self.filters_valid else ()
        response = StreamingHttpResponse(csv_text(rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="reorder-{stamp}.csv"'
        return response


class ReorderSelectionActionView(PermissionRequiredMixin, View):
    """A POST with ticked suggestions; a GET (a bookmark, a sign-in redirect) goes back.

    Subclasses define `act(level_ids)`: what to do with the valid selection, answering with the
    response; a ValidationError it raises is shown as messages on the dashboard."""

    act: Callable[[list[int]], HttpResponse]

    permission_required = PERMISSION

    def get(self, request):
        return redirect("planning:reorder-dashboard")

    def post(self, request):
        form = ReorderSelectionForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(_back(request))
        try:
            return self.act(form.cleaned_data["levels"])
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect(_back(request))


class ReorderDraftPurchaseOrdersView(ReorderSelectionActionView):
    """Turn the ticked suggestions into draft purchase orders, one per supplier × warehouse."""

    permission_required = (PERMISSION, "suppliers.add_purchaseorder")

    def act(self, level_ids):
        request = self.request
        result = purchase_orders_draft_from_suggestions(level_ids=level_ids, by=request.user)
        if result.created:
            counts = [po.lines.count() for po in result.created]
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a> ({}, {}, {} line{})',
                (
                    (
                        po.get_absolute_url(),
                        po.number,
                        po.supplier.name,
                        po.warehouse.code,
                        count,
                        "s" if count != 1 else "",
                    )
                    for po, count in zip(result.created, counts, strict=True)
                ),
            )
            messages.success(
                request,
                format_html(
                    "Created {} draft purchase order{} for review: {}.",
                    len(result.created),
                    "s" if len(result.created) != 1 else "",
                    links,
                ),
            )
        if result.reused:
            messages.info(
                request,
                format_html(
                    "Added lines to the existing draft{} {}.",
                    "s" if len(result.reused) != 1 else "",
                    format_html_join(
                        ", ",
                        '<a href="{}">{}</a> ({}, {})',
                        (
                            (po.get_absolute_url(), po.number, po.supplier.name, po.warehouse.code)
                            for po in result.reused
                        ),
                    ),
                ),
            )
        if result.skipped:
            reasons = [reason.rstrip(".") for reason in result.skipped]
            messages.warning(request, f"Skipped {len(reasons)}: {_listing(reasons, sep='; ')}.")
        if not (result.created or result.reused or result.skipped):
            messages.info(request, "Nothing to order for the ticked rows.")
        # Open the (first) order that got lines, for review; otherwise back to the dashboard.
        drafts = result.created + result.reused
        if drafts:
            return redirect(drafts[0].get_absolute_url())
        return redirect(_back(request))


class ReorderApplySafetyStockView(ReorderSelectionActionView):
    """Set each ticked level's safety stock to its suggested value, recorded as a change."""

    permission_required = (PERMISSION, "inventory.set_safety_stock")

    def act(self, level_ids):
        request = self.request
        changes = safety_stock_apply_suggested(level_ids=level_ids, by=request.user)
        if changes:
            # Only the levels the message names are looked up (two small queries each).
            described = [
                f"{change.level.product.sku} at {change.level.warehouse.code} "
                f"{change.old_value:,} → {change.new_value:,}"
                for change in changes[:MESSAGE_LIST_LIMIT]
            ]
            messages.success(
                request,
                f"Safety stock set to the suggestion on {len(changes)} "
                f"row{'s' if len(changes) != 1 else ''}: {_listing(described, len(changes))}.",
            )
        else:
            messages.info(
                request, "The safety stock already matches the suggestion; nothing changed."
            )
        return redirect(_back(request))
