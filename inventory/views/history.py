"""The history page (audit trail) of a product."""

from common.views import HistoryView
from inventory.models import Product
from inventory.selectors import product_history_parts
from inventory.slots import product_history_parts as higher_history_parts


class ProductHistoryView(HistoryView):
    """Who changed a product's stock, safety stock, allocations and admin data, and why."""

    model = Product

    def get_parts(self, subject):
        # Allocations belong to the orders app, which adds them through the slot.
        extra = higher_history_parts.collect(product_id=subject.pk)
        return [
            *product_history_parts(product_id=subject.pk),
            *(p for parts in extra for p in parts),
        ]
