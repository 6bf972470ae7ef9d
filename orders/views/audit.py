"""An order's history page (the audit trail)."""

from django.shortcuts import get_object_or_404

from inventory.views_audit import HistoryView

from ..audit import order_history_parts
from ..models import SalesOrder


class OrderHistoryView(HistoryView):
    """Who placed, released to, shipped and cancelled an order (and its lines), and why."""

    def get_subject(self):
        return get_object_or_404(SalesOrder, pk=self.kwargs["pk"])

    def get_parts(self, subject):
        return order_history_parts(order_id=subject.pk)

    def get_here(self, subject) -> str:
        return subject.number
