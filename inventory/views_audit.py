"""History pages (the audit trail) of a product; the base view the other areas' pages share."""

from collections.abc import Callable

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django.views.generic import TemplateView

from .audit import history_page, product_history_parts
from .models import Product


class HistoryView(PermissionRequiredMixin, TemplateView):
    """One page of a document's history, newest first.

    Subclasses name the document's `model` and define `get_parts(subject)`: the history's parts
    (querysets in the shape `audit.audit_rows` gives). A document with a number (SO-…, PO-…) is
    not linked to itself in its own history."""

    permission_required = "inventory.view_audit"
    template_name = "inventory/history.html"
    model: type[Model]
    get_parts: Callable[[Model], list[QuerySet]]

    def get_subject(self):
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def get_here(self, subject) -> str:
        return getattr(subject, "number", "")

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

    model = Product

    def get_parts(self, subject):
        # Allocations live in the orders area, which inventory only reads through its selectors.
        from orders.audit import product_allocation_rows

        return [
            *product_history_parts(product_id=subject.pk),
            product_allocation_rows(product_id=subject.pk),
        ]
