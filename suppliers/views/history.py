"""A purchase order's history page (the audit trail)."""

from common.views import HistoryView
from suppliers.audit import purchase_order_history_parts
from suppliers.models import PurchaseOrder


class PurchaseOrderHistoryView(HistoryView):
    """Who created, sent, received against and cancelled a purchase order, and why."""

    model = PurchaseOrder

    def get_parts(self, subject):
        return purchase_order_history_parts(purchase_order_id=subject.pk)
