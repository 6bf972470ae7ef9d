"""Orders pages, one module per part: lists (orders, backorders), one order, CSV import, release."""

from .imports import OrderImportPreviewView, OrderImportView
from .lists import BackorderListView, OrderListView
from .order import (
    CustomerCreateView,
    CustomerLookupView,
    OrderCancelView,
    OrderCreateView,
    OrderDetailView,
    OrderLineCancelView,
    OrderShipView,
    ProductLookupView,
)
from .release import ReleaseDetailView, ReleaseReviewView

__all__ = [
    "BackorderListView",
    "CustomerCreateView",
    "CustomerLookupView",
    "OrderCancelView",
    "OrderCreateView",
    "OrderDetailView",
    "OrderImportPreviewView",
    "OrderImportView",
    "OrderLineCancelView",
    "OrderListView",
    "OrderShipView",
    "ProductLookupView",
    "ReleaseDetailView",
    "ReleaseReviewView",
]
