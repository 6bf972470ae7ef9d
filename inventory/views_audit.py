"""History pages (the audit trail) of a product; the base view the other areas' pages share."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from .audit import history_page, product_history_parts
from .models import Product


class HistoryView(PermissionRequiredMixin, TemplateView):
    """One page of a document's history, newest first. Subclasses name the object and its parts."""

    permission_required = "inventory.view_audit"
    template_name = "inventory/history.html"

    def get_subject(self):
        raise NotImplementedError

    def get_parts(self, subject):
        raise NotImplementedError

    def get_here(self, subject) -> str:
        return ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        subject = self.get_subject()
        page = history_page(
            self.get_parts(subject), page=self.request.GET.get("page"), here=self.get_here(subject)
        )
        context.update(subject=subject, page_obj=page, entries=page.object_list)
        return context


class ProductHistoryView(HistoryView):
    """Who changed a product's stock, safety stock, allocations and admin data, and why."""

    def get_subject(self):
        return get_object_or_404(Product, pk=self.kwargs["pk"])

    def get_parts(self, subject):
        # Allocations live in the orders area, which inventory only reads through its selectors.
        from orders.audit import product_allocation_rows

        return [
            *product_history_parts(product_id=subject.pk),
            product_allocation_rows(product_id=subject.pk),
        ]
