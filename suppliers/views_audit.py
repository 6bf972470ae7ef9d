"""A purchase order's history page (the audit trail)."""

from django.shortcuts import get_object_or_404

from inventory.views_audit import HistoryView

from .audit import purchase_order_history_parts
from .models import PurchaseOrder


class PurchaseOrderHistoryView(HistoryView):
    """Who created, sent, received against and cancelled a purchase order, and why."""

    def get_subject(self):
        return get_object_or_404(PurchaseOrder, pk=self.kwargs["pk"])

    def get_parts(self, subject):
        return purchase_order_history_parts(purchase_order_id=subject.pk)

    def get_here(self, subject) -> str:
        return subject.number
