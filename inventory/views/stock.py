"""Stock pages: the stock overview, safety stock (inline and in bulk), adjustments and transfers."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import Context
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView
from django_filters.views import FilterView
from django_htmx.http import HttpResponseClientRefresh
from django_tables2 import RequestConfig, SingleTableMixin

from common.forms import form_add_service_error
from common.views import CsvExportMixin, FormPageMixin
from inventory.filters import StockLevelFilter
from inventory.forms import (
    AdjustStockForm,
    BulkSafetyStockForm,
    SetSafetyStockForm,
    TransferStockForm,
)
from inventory.models import StockLevel
from inventory.selectors import stock_overview
from inventory.services import safety_stock_set, stock_adjust, stock_count, stock_transfer
from inventory.tables import StockLevelTable


def _safe_next(request, fallback: str) -> str:
    """Where to go back to after a form: the page the user came from, if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only a path: redirect() would take a bare word such as "0" for a URL name and fail.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _level_or_404(pk) -> StockLevel:
    return get_object_or_404(StockLevel.objects.select_related("product", "warehouse"), pk=pk)


class StockListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    """Every product × warehouse with what is on hand, owed, coming and projected."""

    permission_required = "inventory.view_stocklevel"
    template_name = "inventory/stocklevel_list.html"
    filterset_class = StockLevelFilter
    table_class = StockLevelTable
    table_pagination = {"per_page": 50}
    export_name = "stock"

    def get_queryset(self):
        return stock_overview()

    def get_table_kwargs(self):
        user = self.request.user
        return {
            "can_release": user.has_perm("orders.add_release"),
            "can_select": user.has_perm("inventory.set_safety_stock"),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["bulk_form"] = BulkSafetyStockForm()
        return context


class SafetyStockEditView(PermissionRequiredMixin, View):
    """One level's safety stock, edited in place.

    With htmx the value swaps to a small form. In the stock table (`?in=row`) the answer to the
    POST is the whole table row, so its "below safety" mark follows the new value; elsewhere the
    page is refreshed with a message. Without JavaScript the same URL is an ordinary form page that
    returns to where the user came from."""

    permission_required = "inventory.set_safety_stock"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.in_row = request.GET.get("in") == "row"

    def get(self, request, pk):
        level = _level_or_404(pk)
        if request.htmx:
            if "cancel" in request.GET:
                return self._partial("inventory/_safetystock_cell.html", level)
            form = SetSafetyStockForm(initial={"value": level.safety_stock})
            return self._partial("inventory/_safetystock_form.html", level, form=form)
        form = SetSafetyStockForm(initial={"value": level.safety_stock})
        return self._page(level, form)

    def post(self, request, pk):
        level = _level_or_404(pk)
        form = SetSafetyStockForm(request.POST)
        if form.is_valid():
            try:
                safety_stock_set(
                    level_ids=[level.pk],
                    value=form.cleaned_data["value"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                if request.htmx and self.in_row:
                    return self._row(level, saved=True)
                level.refresh_from_db(fields=["safety_stock"])
                messages.success(
                    request,
                    f"Safety stock of {level.product.sku} at {level.warehouse.code} is now "
                    f"{level.safety_stock}.",
                )
                if request.htmx:
                    return HttpResponseClientRefresh()
                return redirect(_safe_next(request, reverse("inventory:stock-list")))
        if request.htmx:
            if self.in_row:
                return self._row(level, form=form, form_level_id=level.pk)
            return self._partial("inventory/_safetystock_form.html", level, form=form)
        return self._page(level, form)

    def _next_url(self) -> str:
        # The cell's no-JavaScript link returns to the page the table is on, not to this URL.
        return self.request.htmx.current_url_abs_path or ""

    def _partial(self, template, level, **context):
        context.update(record=level, in_row=self.in_row, next_url=self._next_url())
        response = render(self.request, template, context)
        patch_vary_headers(response, ["HX-Request"])
        return response

    def _row(self, level, **context):
        """The level's row of the stock table, rendered by the table itself."""
        user = self.request.user
        table = StockLevelTable(
            stock_overview().filter(pk=level.pk),
            can_release=user.has_perm("orders.add_release"),
            can_select=user.has_perm("inventory.set_safety_stock"),
            orderable=False,
        )
        RequestConfig(self.request, paginate=False).configure(table)
        table.context = Context({**context, "next_url": self._next_url()})
        response = render(self.request, "inventory/_stocklevel_row.html", {"table": table})
        patch_vary_headers(response, ["HX-Request"])
        return response

    def _page(self, level, form):
        response = render(
            self.request,
            "inventory/safetystock_form.html",
            {"level": level, "form": form, "next": _safe_next(self.request, "")},
        )
        patch_vary_headers(response, ["HX-Request"])
        return response


class SafetyStockBulkView(PermissionRequiredMixin, View):
    """The same safety stock for every ticked row of the stock table."""

    permission_required = "inventory.set_safety_stock"

    def get(self, request):
        return redirect("inventory:stock-list")

    def post(self, request):
        form = BulkSafetyStockForm(request.POST)
        if form.is_valid():
            try:
                changes = safety_stock_set(
                    level_ids=form.cleaned_data["levels"],
                    value=form.cleaned_data["value"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                count = len(form.cleaned_data["levels"])
                messages.success(
                    request,
                    f"Safety stock set to {form.cleaned_data['value']} on {count} "
                    f"row{'s' if count != 1 else ''} ({len(changes)} changed).",
                )
                return redirect(_safe_next(request, reverse("inventory:stock-list")))
        chosen = form.cleaned_data.get("levels") if hasattr(form, "cleaned_data") else None
        levels = (
            StockLevel.objects.filter(pk__in=chosen).select_related("product", "warehouse")
            if chosen
            else StockLevel.objects.none()
        )
        return render(
            request,
            "inventory/safetystock_bulk_form.html",
            {
                "form": form,
                "levels": levels,
                "next": _safe_next(request, reverse("inventory:stock-list")),
            },
        )


class LevelFormMixin(FormPageMixin, PermissionRequiredMixin):
    """A form about one stock level; the permission is checked before the level is looked up, so
    a user without it learns nothing about which ids exist."""

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.level = _level_or_404(kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


class StockAdjustView(LevelFormMixin, FormView):
    """Add or remove stock with a reason, or record a physical count."""

    permission_required = "inventory.adjust_stock"
    form_class = AdjustStockForm
    template_name = "inventory/stocklevel_adjust_form.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(level=self.level, **kwargs)

    def form_valid(self, form):
        level, data, user = self.level, form.cleaned_data, self.request.user
        try:
            if data["mode"] == AdjustStockForm.COUNT:
                movement = stock_count(
                    level_id=level.pk, counted=data["quantity"], reason=data["reason"], by=user
                )
            else:
                movement = stock_adjust(
                    level_id=level.pk, delta=form.delta(), reason=data["reason"], by=user
                )
        except ValidationError as error:
            form_add_service_error(form, error)
            return self.form_invalid(form)
        where = f"{level.product.sku} at {level.warehouse.code}"
        if movement is None:
            messages.info(
                self.request, f"The count matches the books for {where}; nothing changed."
            )
        else:
            messages.success(
                self.request,
                f"{where}: {movement.quantity:+d}, on hand is now {movement.balance_after}.",
            )
        return redirect(level.product.get_absolute_url())


class StockTransferView(LevelFormMixin, FormView):
    """Move free stock of this level's product to another warehouse."""

    permission_required = "inventory.transfer_stock"
    form_class = TransferStockForm
    template_name = "inventory/stocklevel_transfer_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "from_warehouse_id": self.level.warehouse_id}

    def get_context_data(self, **kwargs):
        return super().get_context_data(level=self.level, **kwargs)

    def form_valid(self, form):
        level, data = self.level, form.cleaned_data
        try:
            stock_transfer(
                product_id=level.product_id,
                from_warehouse_id=level.warehouse_id,
                to_warehouse_id=data["to_warehouse"].pk,
                quantity=data["quantity"],
                reason=data["reason"],
                by=self.request.user,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Moved {data['quantity']} of {level.product.sku} from {level.warehouse.code} to "
            f"{data['to_warehouse'].code}.",
        )
        return redirect(level.product.get_absolute_url())


# --- product detail and chart ----------------------------------------------------------------


# --- product CSV import ----------------------------------------------------------------------
