"""Stock pages, one module per part: the stock table with safety stock, adjustments and
transfers (`stock`), products and their chart (`products`), and a product's history."""

from .history import ProductHistoryView
from .products import ProductChartView, ProductDetailView
from .stock import (
    SafetyStockBulkView,
    SafetyStockEditView,
    StockAdjustView,
    StockListView,
    StockTransferView,
)

__all__ = [
    "ProductChartView",
    "ProductDetailView",
    "ProductHistoryView",
    "SafetyStockBulkView",
    "SafetyStockEditView",
    "StockAdjustView",
    "StockListView",
    "StockTransferView",
]
