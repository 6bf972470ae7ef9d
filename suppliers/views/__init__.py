"""Purchasing pages, one module per part: receiving, suppliers, purchase orders, history and the
product import."""

from .history import PurchaseOrderHistoryView
from .product_import import ProductImportPreviewView, ProductImportView
from .purchasing import (
    PurchaseOrderCancelView,
    PurchaseOrderCreateView,
    PurchaseOrderDetailView,
    PurchaseOrderListView,
    PurchaseOrderSendView,
)
from .receiving import ReceiveView, ReceivingListView
from .suppliers import SupplierDetailView, SupplierListView, SupplierLookupView

__all__ = [
    "ProductImportPreviewView",
    "ProductImportView",
    "PurchaseOrderCancelView",
    "PurchaseOrderCreateView",
    "PurchaseOrderDetailView",
    "PurchaseOrderHistoryView",
    "PurchaseOrderListView",
    "PurchaseOrderSendView",
    "ReceiveView",
    "ReceivingListView",
    "SupplierDetailView",
    "SupplierListView",
    "SupplierLookupView",
]
