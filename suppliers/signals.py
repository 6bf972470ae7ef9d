"""Signals the suppliers app sends for higher apps to act on (it imports none of them).

`supply_changed` is sent inside the transaction of a write that changed what products are
bought on in ways the models' own save signals do not announce: a bulk import of supply terms
(`product_ids`; `supplier_ids` may name whole suppliers).
"""

from django.dispatch import Signal

supply_changed = Signal()
