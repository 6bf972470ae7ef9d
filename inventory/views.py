"""Stock pages: home (what needs attention), stock overview, product detail, adjustments."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from .selectors import attention_summary


class HomeView(LoginRequiredMixin, TemplateView):
    """What needs attention today, each count linking to the list that shows it."""

    template_name = "inventory/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = attention_summary()
        return context


# --- stock table, safety stock, adjust / count, transfer -------------------------------------
# The home page above predates this part; the rest of the stock pages' imports start here.
# ruff: noqa: E402

import csv

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import Context
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView, FormView
from django_filters.views import FilterView
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh
from django_tables2 import RequestConfig, SingleTableMixin

from orders.selectors import backorder_lines, line_etas

from . import imports
from .charts import safety_stock_over_time, series_sum, stock_chart_svg
from .filters import StockLevelFilter
from .forms import (
    AdjustStockForm,
    BulkSafetyStockForm,
    ChartWarehouseForm,
    ProductImportConfirmForm,
    ProductImportUploadForm,
    SetSafetyStockForm,
    TransferStockForm,
)
from .import_services import product_import
from .models import Product, StockLevel
from .selectors import product_ledger, stock_over_time, stock_overview
from .services import safety_stock_set, stock_adjust, stock_count, stock_transfer
from .tables import StockLevelTable, StockMovementTable
from .ui import CsvExportMixin, form_add_service_error


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


class LevelFormMixin(PermissionRequiredMixin):
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


class ProductDetailView(PermissionRequiredMixin, DetailView):
    """A product's levels, queues with ETAs, supply terms, ledger and stock over time."""

    permission_required = ("inventory.view_product", "inventory.view_stocklevel")
    model = Product
    template_name = "inventory/product_detail.html"
    ledger_per_page = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.object
        levels = list(stock_overview().filter(product=product).order_by("warehouse__code"))
        waiting = list(backorder_lines(product_id=product.pk))
        etas = line_etas(lines=waiting)
        queues: dict[int, dict] = {}
        for line in waiting:
            warehouse = line.order.warehouse
            queue = queues.setdefault(warehouse.pk, {"warehouse": warehouse, "lines": []})
            queue["lines"].append({"line": line, "eta": etas.get(line.pk)})
        ledger = StockMovementTable(product_ledger(product_id=product.pk))
        RequestConfig(self.request, paginate={"per_page": self.ledger_per_page}).configure(ledger)
        context.update(
            levels=levels,
            queues=list(queues.values()),
            terms=product.supply_terms.select_related("supplier").order_by(
                "-is_preferred", "supplier__name"
            ),
            ledger=ledger,
            can_release=self.request.user.has_perm("orders.add_release"),
        )
        return context


class ProductChartView(PermissionRequiredMixin, View):
    """On-hand stock over the last 90 days with the safety stock, as an SVG image."""

    permission_required = "inventory.view_stocklevel"
    days = 90

    def get(self, request, pk):
        product = get_object_or_404(Product, pk=pk)
        form = ChartWarehouseForm(request.GET)
        if not form.is_valid():
            raise Http404("No such warehouse.")
        levels = list(StockLevel.objects.filter(product=product).select_related("warehouse"))
        warehouse_id = form.cleaned_data["warehouse"]
        if warehouse_id:
            levels = [level for level in levels if level.warehouse_id == warehouse_id]
            if not levels:
                raise Http404("This product has no stock at that warehouse.")
            where = levels[0].warehouse.code
        else:
            where = "all warehouses"
        on_hand = series_sum(
            [stock_over_time(level_id=level.pk, days=self.days) for level in levels]
        )
        safety = series_sum(
            [safety_stock_over_time(level=level, days=self.days) for level in levels]
        )
        svg = stock_chart_svg(
            on_hand=on_hand,
            safety=safety,
            title=f"{product.sku} at {where}: stock over the last {self.days} days",
        )
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Cache-Control"] = "private, max-age=60"
        return response


# --- product CSV import ----------------------------------------------------------------------


class ProductImportView(PermissionRequiredMixin, View):
    """Upload a product CSV; it is checked at once and kept for the preview."""

    permission_required = "inventory.add_product"
    template_name = "inventory/product_import_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ProductImportUploadForm()})

    def post(self, request):
        form = ProductImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            template = "inventory/_product_import_upload.html" if request.htmx else None
            return render(request, template or self.template_name, {"form": form})
        upload = form.cleaned_data["file"]
        token = imports.upload_keep(
            request.session, data=upload.read(), filename=upload.name or "upload.csv"
        )
        url = reverse("inventory:product-import-preview", args=[token])
        # htmx posted the file with a progress bar; send the whole page on to the preview.
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


class ProductImportPreviewView(PermissionRequiredMixin, View):
    """Every row of the upload, valid or marked with its reasons; confirm writes the valid ones."""

    permission_required = "inventory.add_product"
    template_name = "inventory/product_import_preview.html"

    def _upload(self, token):
        info = imports.upload_info(self.request.session, token=token)
        data = imports.upload_read(self.request.session, token=token) if info else None
        return info, data

    def _expired(self):
        messages.warning(
            self.request, "That upload has expired or is not yours; upload the file again."
        )
        return redirect("inventory:product-import")

    def get(self, request, token):
        info, data = self._upload(token)
        if data is None:
            return self._expired()
        preview = imports.preview_build(data)
        if request.GET.get("_export") == "errors":
            return self._errors_csv(preview, info)
        return self._page(token, info, preview, ProductImportConfirmForm())

    def post(self, request, token):
        info, data = self._upload(token)
        if data is None:
            return self._expired()
        form = ProductImportConfirmForm(request.POST)
        # Checked again now: suppliers or products may have changed since the preview.
        preview = imports.preview_build(data)
        if form.is_valid():
            if preview.invalid_rows and not form.cleaned_data["only_valid"]:
                count = len(preview.invalid_rows)
                form.add_error(
                    "only_valid",
                    f"{count} row{'s are' if count != 1 else ' is'} invalid, so nothing was "
                    "imported. Fix the file and upload it again, or tick this box to import "
                    "only the valid rows.",
                )
            elif preview.file_errors or not preview.valid_rows:
                form.add_error(
                    None, "There are no valid rows to import; fix the file and upload it again."
                )
            else:
                products, terms = preview.inputs()
                try:
                    result = product_import(products=products, terms=terms, by=request.user)
                except ValidationError as error:
                    form_add_service_error(form, error)
                else:
                    imports.upload_discard(request.session, token=token)
                    skipped = len(preview.invalid_rows)
                    messages.success(
                        request,
                        f"Imported {info['filename']}: {result.products_created} products "
                        f"created, {result.products_updated} updated, "
                        f"{result.products_unchanged} unchanged; {result.terms_created} supply "
                        f"terms created, {result.terms_updated} updated"
                        + (f"; {skipped} invalid rows left out." if skipped else "."),
                    )
                    return redirect("inventory:product-import")
        return self._page(token, info, preview, form)

    def _page(self, token, info, preview, form):
        invalid = preview.invalid_rows
        return render(
            self.request,
            self.template_name,
            {
                "token": token,
                "filename": info["filename"],
                "preview": preview,
                "summary": preview.summary(),
                "invalid_rows": invalid[:500],
                "invalid_hidden": max(0, len(invalid) - 500),
                "sample_rows": preview.valid_rows[:100],
                "form": form,
            },
        )

    def _errors_csv(self, preview, info):
        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in imports.errors_csv_rows(preview)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="import-problems.csv"'
        return response
