"""Product pages: the product with its levels, supply and ledger, and its stock-over-time chart."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views import View
from django.views.generic import DetailView
from django_tables2 import RequestConfig

from inventory.charts import safety_stock_over_time, series_sum, stock_chart_svg
from inventory.forms import ChartWarehouseForm
from inventory.models import Product, StockLevel
from inventory.selectors import product_ledger, stock_over_time, stock_overview
from inventory.slots import product_page_panels
from inventory.tables import StockMovementTable


class ProductDetailView(PermissionRequiredMixin, DetailView):
    """A product's levels, ledger and stock over time, with the panels the apps above add (the
    backorder queue with ETAs, the supply terms)."""

    permission_required = ("inventory.view_product", "inventory.view_stocklevel")
    model = Product
    template_name = "inventory/product_detail.html"
    ledger_per_page = 25

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        product = self.object
        levels = list(stock_overview().filter(product=product).order_by("warehouse__code"))
        # The queue with ETAs and the supply terms belong to the apps above; they fill the slot.
        panels = [
            panel.render(self.request)
            for panel in product_page_panels.collect(product=product, request=self.request)
        ]
        ledger = StockMovementTable(product_ledger(product_id=product.pk))
        RequestConfig(self.request, paginate={"per_page": self.ledger_per_page}).configure(ledger)
        context.update(
            levels=levels,
            panels=panels,
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
