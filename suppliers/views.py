"""Purchasing and receiving pages: expected deliveries and the receive form, suppliers, and
purchase orders (list, detail, create, send, cancel)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import (
    Count,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from inventory.lookups import NameOrNumberLookupView
from inventory.ui import CsvExportMixin, OnceTokenMixin, form_add_service_error, plain_int
from orders.selectors import backordered_by_product

from .filters import PurchaseOrderFilter, ReceivingFilter, SupplierFilter
from .forms import (
    CancelPurchaseOrderForm,
    CreatePurchaseOrderForm,
    PurchaseOrderLineFormSet,
    ReceiveShipmentForm,
    fresh_key,
)
from .models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)
from .selectors import inbound_purchase_orders, purchase_orders_listed, shipment_product_ids
from .services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)
from .tables import PurchaseOrderTable, ReceivingTable, SupplierTable

CANCELLABLE = (PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES)


# --- Receiving -------------------------------------------------------------------------------


class ReceivingListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    """Purchase orders still expecting stock, earliest expected first, overdue ones flagged."""

    permission_required = "suppliers.view_purchaseorder"
    table_class = ReceivingTable
    filterset_class = ReceivingFilter
    table_pagination = {"per_page": 50}
    template_name = "suppliers/receiving_list.html"
    export_name = "expected-deliveries"

    def get_queryset(self):
        return inbound_purchase_orders()

    def get_table_kwargs(self):
        return {"can_receive": self.request.user.has_perm("suppliers.add_shipment")}


class ReceiveView(PermissionRequiredMixin, View):
    """Record what arrived against one purchase order, then offer it to the waiting orders."""

    permission_required = "suppliers.add_shipment"
    template_name = "suppliers/shipment_form.html"

    def get(self, request, pk):
        po = self.get_purchase_order(pk)
        form = ReceiveShipmentForm(
            lines=self.get_lines(po), initial={"idempotency_key": fresh_key()}
        )
        return self.render_form(po, form)

    def post(self, request, pk):
        po = self.get_purchase_order(pk)
        form = ReceiveShipmentForm(request.POST, lines=self.get_lines(po))
        if form.is_valid():
            try:
                result = shipment_receive(
                    purchase_order_id=po.pk,
                    quantities=form.quantities(),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    by=request.user,
                    reference=form.cleaned_data["reference"],
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                return self.after_receipt(po, result.shipment, created=result.created)
        # Nothing was recorded under this key, so a corrected resubmission may reuse it.
        form.data = form.data.copy()
        form.data["idempotency_key"] = fresh_key(request.POST.get("idempotency_key"))
        return self.render_form(po, form)

    def get_purchase_order(self, pk) -> PurchaseOrder:
        return get_object_or_404(
            PurchaseOrder.objects.select_related("supplier", "warehouse"), pk=pk
        )

    def get_lines(self, po: PurchaseOrder):
        return po.lines.select_related("product").order_by("id")

    def render_form(self, po: PurchaseOrder, form: ReceiveShipmentForm):
        return render(self.request, self.template_name, {"po": po, "form": form})

    def after_receipt(self, po: PurchaseOrder, shipment: Shipment, *, created: bool):
        if created:
            units = sum(line.quantity for line in shipment.lines.all())
            po.refresh_from_db(fields=["status"])
            messages.success(
                self.request,
                f"Received {shipment.number} against {po.number}: {units:,} units. "
                f"{po.number} is now {po.get_status_display().lower()}.",
            )
        else:
            messages.info(
                self.request,
                f"This delivery was already recorded as {shipment.number}; it counted once.",
            )
        product_ids = shipment_product_ids(shipment_id=shipment.pk)
        if backordered_by_product(warehouse_id=po.warehouse_id, product_ids=product_ids):
            query = [("warehouse", po.warehouse_id), ("shipment", shipment.pk)]
            query += [("product", product_id) for product_id in product_ids]
            return redirect(f"{reverse('orders:release-review')}?{urlencode(query)}")
        if created:
            messages.info(
                self.request,
                "Nobody is waiting for the products that arrived, so there is nothing to release.",
            )
        return redirect(po)


# --- Suppliers -------------------------------------------------------------------------------


def _count_per_supplier(queryset) -> Coalesce:
    """A correlated count per supplier, so two counts on one row do not multiply each other."""
    counted = (
        queryset.filter(supplier=OuterRef("pk"))
        .order_by()
        .values("supplier")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class SupplierListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "suppliers.view_supplier"
    table_class = SupplierTable
    filterset_class = SupplierFilter
    table_pagination = {"per_page": 50}
    template_name = "suppliers/supplier_list.html"
    export_name = "suppliers"

    def get_queryset(self):
        return Supplier.objects.annotate(
            term_count=_count_per_supplier(SupplierProduct.objects.all()),
            open_po_count=_count_per_supplier(
                PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES)
            ),
        ).order_by("name")


class SupplierDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "suppliers.view_supplier"
    model = Supplier
    template_name = "suppliers/supplier_detail.html"
    context_object_name = "supplier"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        supplier = self.object
        context["terms"] = supplier.terms.select_related("product").order_by("product__sku")
        context["open_orders"] = inbound_purchase_orders().filter(supplier=supplier)
        context["draft_count"] = supplier.purchase_orders.filter(
            status=PurchaseOrderStatus.DRAFT
        ).count()
        return context


# --- Purchase orders -------------------------------------------------------------------------


class PurchaseOrderListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "suppliers.view_purchaseorder"
    table_class = PurchaseOrderTable
    filterset_class = PurchaseOrderFilter
    table_pagination = {"per_page": 50}
    template_name = "suppliers/purchaseorder_list.html"
    export_name = "purchase-orders"

    def get_queryset(self):
        return purchase_orders_listed()


class PurchaseOrderDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "suppliers.view_purchaseorder"
    template_name = "suppliers/purchaseorder_detail.html"
    context_object_name = "po"
    queryset = PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        po = self.object
        lines = list(po.lines.select_related("product").order_by("id"))
        context["lines"] = lines
        context["totals"] = {
            "ordered": sum(line.quantity_ordered for line in lines),
            "received": sum(line.quantity_received for line in lines),
            "outstanding": sum(line.outstanding for line in lines),
        }
        context["shipments"] = po.shipments.select_related("received_by").prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("purchase_order_line__product"),
            )
        )
        context["can_send"] = po.status == PurchaseOrderStatus.DRAFT
        context["can_cancel"] = po.status in CANCELLABLE
        context["is_overdue"] = po.is_open and po.expected_date < timezone.localdate()
        return context


class PurchaseOrderCreateView(OnceTokenMixin, PermissionRequiredMixin, View):
    """A draft purchase order with a line per SKU; a double submit creates it once."""

    permission_required = "suppliers.add_purchaseorder"
    template_name = "suppliers/purchaseorder_form.html"
    formset_prefix = "lines"

    def get(self, request):
        initial = {"once_token": self.once_token_new()}
        # Links preselect by number, e.g. "New purchase order" on a supplier's page.
        supplier = request.GET.get("supplier", "")
        if (number := plain_int(supplier)) is not None:
            initial["supplier"] = Supplier.objects.filter(pk=number, is_active=True).first()
        if (warehouse := plain_int(request.GET.get("warehouse", ""))) is not None:
            initial["warehouse"] = warehouse
        form = CreatePurchaseOrderForm(initial=initial)
        formset = PurchaseOrderLineFormSet(prefix=self.formset_prefix)
        return self.render_form(form, formset)

    def post(self, request):
        token = request.POST.get("once_token", "")
        first = self.once_token_seen(token) if token else None
        if first:
            messages.info(request, "This purchase order was already created; here it is.")
            return redirect(first)
        form = CreatePurchaseOrderForm(request.POST)
        formset = PurchaseOrderLineFormSet(request.POST, prefix=self.formset_prefix)
        if form.is_valid() and formset.is_valid():
            po = self.create(form, formset)
            if po is not None:
                if token:
                    self.once_token_use(token, po.get_absolute_url())
                messages.success(
                    request,
                    f"{po.number} created as a draft for {po.supplier.name}, expected "
                    f"{po.expected_date:%d %b %Y}. Send it when it is ready.",
                )
                return redirect(po)
        if not token:
            form.data = form.data.copy()
            form.data["once_token"] = self.once_token_new()
        return self.render_form(form, formset)

    def create(self, form, formset) -> PurchaseOrder | None:
        supplier = form.cleaned_data["supplier"]
        expected = form.cleaned_data["expected_date"] or self.default_expected_date(
            supplier, formset.product_ids()
        )
        if expected is None:
            form.add_error(
                "expected_date",
                f"Enter the expected date: {supplier.name} has no lead time for these products.",
            )
            return None
        try:
            return purchase_order_create(
                supplier_id=supplier.pk,
                warehouse_id=form.cleaned_data["warehouse"].pk,
                expected_date=expected,
                lines=formset.line_inputs(),
                by=self.request.user,
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as error:
            form_add_service_error(form, error)
            return None

    @staticmethod
    def default_expected_date(supplier: Supplier, product_ids: list[int]) -> dt.date | None:
        longest = SupplierProduct.objects.filter(
            supplier=supplier, product_id__in=product_ids
        ).aggregate(days=Max("lead_time_days"))["days"]
        if longest is None:
            return None
        return timezone.localdate() + dt.timedelta(days=longest)

    def render_form(self, form, formset):
        return render(self.request, self.template_name, {"form": form, "formset": formset})


class SupplierLookupView(NameOrNumberLookupView):
    """Suppliers for the new purchase order's datalist."""

    permission_required = "suppliers.add_purchaseorder"
    model = Supplier
    param = "supplier"
    template_name = "suppliers/_supplier_options.html"
    context_object_name = "suppliers"


class PurchaseOrderSendView(PermissionRequiredMixin, View):
    permission_required = "suppliers.send_purchaseorder"
    http_method_names = ["post"]

    def post(self, request, pk):
        po = get_object_or_404(PurchaseOrder.objects.select_related("supplier"), pk=pk)
        try:
            purchase_order_send(purchase_order_id=po.pk, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"{po.number} sent to {po.supplier.name}; its lines now count as on order.",
            )
        return redirect(po)


class PurchaseOrderCancelView(PermissionRequiredMixin, View):
    permission_required = "suppliers.cancel_purchaseorder"
    template_name = "suppliers/purchaseorder_cancel_form.html"

    def get(self, request, pk):
        po = self.get_purchase_order(pk)
        return self.render_form(po, CancelPurchaseOrderForm())

    def post(self, request, pk):
        po = self.get_purchase_order(pk)
        form = CancelPurchaseOrderForm(request.POST)
        if form.is_valid():
            try:
                purchase_order_cancel(
                    purchase_order_id=po.pk, reason=form.cleaned_data["reason"], by=request.user
                )
            except ValidationError as error:
                form_add_service_error(form, error)
            else:
                messages.success(request, f"{po.number} cancelled.")
                return redirect(po)
        return self.render_form(po, form)

    def get_purchase_order(self, pk) -> PurchaseOrder:
        return get_object_or_404(
            PurchaseOrder.objects.select_related("supplier", "warehouse"), pk=pk
        )

    def render_form(self, po, form):
        context = {"po": po, "form": form, "can_cancel": po.status in CANCELLABLE}
        return render(self.request, self.template_name, context)
