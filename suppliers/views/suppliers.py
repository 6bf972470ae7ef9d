"""Supplier pages: the list, one supplier with its terms and open orders, the look-up."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from common.lookups import NameOrNumberLookupView
from common.views import CsvExportMixin
from suppliers.filters import SupplierFilter
from suppliers.models import PurchaseOrderStatus, Supplier
from suppliers.selectors import inbound_purchase_orders, supplier_terms, suppliers_listed
from suppliers.tables import SupplierTable


class SupplierListView(CsvExportMixin, PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "suppliers.view_supplier"
    table_class = SupplierTable
    filterset_class = SupplierFilter
    table_pagination = {"per_page": 50}
    template_name = "suppliers/supplier_list.html"
    export_name = "suppliers"

    def get_queryset(self):
        return suppliers_listed()


class SupplierDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "suppliers.view_supplier"
    model = Supplier
    template_name = "suppliers/supplier_detail.html"
    context_object_name = "supplier"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        supplier = self.object
        context["terms"] = supplier_terms(supplier_id=supplier.pk)
        context["open_orders"] = inbound_purchase_orders().filter(supplier=supplier)
        context["draft_count"] = supplier.purchase_orders.filter(
            status=PurchaseOrderStatus.DRAFT
        ).count()
        return context


class SupplierLookupView(NameOrNumberLookupView):
    """Suppliers for the new purchase order's datalist."""

    permission_required = "suppliers.add_purchaseorder"
    model = Supplier
    param = "supplier"
    template_name = "suppliers/_supplier_options.html"
    context_object_name = "suppliers"
