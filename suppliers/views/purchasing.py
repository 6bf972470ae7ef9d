"""Purchase order pages: list, detail, create, send and cancel."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from common.cleaning import plain_int
from common.forms import form_add_service_error
from common.submissions import SubmissionDone
from common.views import CsvExportMixin, OnceTokenMixin
from suppliers.filters import PurchaseOrderFilter
from suppliers.forms import (
    CancelPurchaseOrderForm,
    CreatePurchaseOrderForm,
    PurchaseOrderLineFormSet,
)
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderStatus,
    Supplier,
)
from suppliers.selectors import (
    purchase_order_lines,
    purchase_order_shipments,
    purchase_orders_listed,
    supplier_longest_lead_time,
)
from suppliers.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
)
from suppliers.tables import PurchaseOrderTable

CANCELLABLE = (PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES)


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
        lines = list(purchase_order_lines(purchase_order_id=po.pk))
        context["lines"] = lines
        context["totals"] = {
            "ordered": sum(line.quantity_ordered for line in lines),
            "received": sum(line.quantity_received for line in lines),
            "outstanding": sum(line.outstanding for line in lines),
        }
        context["shipments"] = purchase_order_shipments(purchase_order_id=po.pk)
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
        form = CreatePurchaseOrderForm(request.POST)
        formset = PurchaseOrderLineFormSet(request.POST, prefix=self.formset_prefix)
        valid = form.is_valid() and formset.is_valid()
        if not token:
            form.data = form.data.copy()
            form.data["once_token"] = self.once_token_new()
            form.add_error(None, "This form was incomplete; check it and submit it again.")
        elif valid:
            try:
                po = self.create(form, formset, token)
            except SubmissionDone as done:
                first = self.once_token_first(done, PurchaseOrder)
                messages.info(
                    request,
                    f"This purchase order was already created: {first.number}. "
                    "Nothing was created twice.",
                )
                return redirect(first)
            if po is not None:
                messages.success(
                    request,
                    f"{po.number} created as a draft for {po.supplier.name}, expected "
                    f"{po.expected_date:%d %b %Y}. Send it when it is ready.",
                )
                return redirect(po)
        return self.render_form(form, formset)

    def create(self, form, formset, token: str) -> PurchaseOrder | None:
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
                submission_key=token,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
            return None

    @staticmethod
    def default_expected_date(supplier: Supplier, product_ids: list[int]) -> dt.date | None:
        longest = supplier_longest_lead_time(supplier_id=supplier.pk, product_ids=product_ids)
        if longest is None:
            return None
        return timezone.localdate() + dt.timedelta(days=longest)

    def render_form(self, form, formset):
        return render(self.request, self.template_name, {"form": form, "formset": formset})


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
