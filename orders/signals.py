"""Signals the orders app sends for higher apps to act on (it imports none of them).

`demand_changed` is sent inside the order service's transaction, after the stored daily demand
of some product × warehouse pairs changed and while their stock levels are locked:
`warehouse_id` and `product_ids` name the pairs; both are None when every row was rebuilt or
bulk-loaded (then a receiver should start over from the stored rows).
"""

from django.dispatch import Signal

demand_changed = Signal()
