"""Every write to purchasing: purchase orders, receiving shipments, and the product import (which
writes products and their supply terms together).

Split by flow: `purchasing` (create, send, cancel), `drafts` (drafts from lines another app
chose), `receiving` (shipment_receive), `product_import`. Lock order: the purchase order row → StockLevel rows (primary-key order).
"""

from .drafts import DraftLineInput, DraftsAdded, purchase_order_drafts_add
from .product_import import ImportResult, ProductInput, TermInput, product_import
from .purchasing import (
    MAX_LINES,
    MAX_UNIT_COST,
    PurchaseLineInput,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
)
from .receiving import ReceiveResult, shipment_receive

__all__ = [
    "MAX_LINES",
    "MAX_UNIT_COST",
    "DraftLineInput",
    "DraftsAdded",
    "ImportResult",
    "ProductInput",
    "PurchaseLineInput",
    "ReceiveResult",
    "TermInput",
    "product_import",
    "purchase_order_cancel",
    "purchase_order_create",
    "purchase_order_drafts_add",
    "purchase_order_send",
    "shipment_receive",
]
