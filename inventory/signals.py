"""Signals the inventory app sends for higher apps to act on (it imports none of them).

`level_settings_changed` is sent inside the transaction that changed the safety stock or the
manual reorder point of stock levels (`level_ids`), after the levels were written (so the
transaction holds their row locks): `safety_stock_record` and `reorder_point_record`.
"""

from django.dispatch import Signal

level_settings_changed = Signal()
