"""An order's history page (the audit trail)."""

from common.views import HistoryView

from ..audit import order_history_parts
from ..models import SalesOrder


class OrderHistoryView(HistoryView):
    """Who placed, released to, shipped and cancelled an order (and its lines), and why."""

    model = SalesOrder

    def get_parts(self, subject):
        return order_history_parts(order_id=subject.pk)
