"""URLs of the inventory area: stock, safety stock, adjustments, transfers and products."""

from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("stock/", views.StockListView.as_view(), name="stock-list"),
    path(
        "stock/levels/<int:pk>/safety-stock/",
        views.SafetyStockEditView.as_view(),
        name="safetystock-edit",
    ),
    path("stock/safety-stock/", views.SafetyStockBulkView.as_view(), name="safetystock-bulk"),
    path(
        "stock/levels/<int:pk>/adjust/", views.StockAdjustView.as_view(), name="stocklevel-adjust"
    ),
    path(
        "stock/levels/<int:pk>/transfer/",
        views.StockTransferView.as_view(),
        name="stocklevel-transfer",
    ),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path(
        "products/<int:pk>/history/",
        views.ProductHistoryView.as_view(),
        name="product-history",
    ),
    path("products/<int:pk>/chart.svg", views.ProductChartView.as_view(), name="product-chart"),
]
