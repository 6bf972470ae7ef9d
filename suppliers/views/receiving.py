"""Receiving pages: expected inbound purchase orders and the receive form."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from common.forms import form_add_service_error
from common.views import CsvExportMixin
from inventory.selectors import backorders_waiting
from suppliers.filters import ReceivingFilter
from suppliers.forms import ReceiveShipmentForm, fresh_key
from suppliers.models import PurchaseOrder, Shipment
from suppliers.selectors import (
    inbound_purchase_orders,
    purchase_order_lines,
    shipment_product_ids,
)
from suppliers.services import shipment_receive
from suppliers.tables import ReceivingTable


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
        return purchase_order_lines(purchase_order_id=po.pk)

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
        if backorders_waiting(warehouse_id=po.warehouse_id, product_ids=product_ids):
            query = [("warehouse", po.warehouse_id), ("shipment", shipment.pk)]
            query += [("product", product_id) for product_id in product_ids]
            return redirect(f"{reverse('orders:release-review')}?{urlencode(query)}")
        if created:
            messages.info(
                self.request,
                "Nobody is waiting for the products that arrived, so there is nothing to release.",
            )
        return redirect(po)
