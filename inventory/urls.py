"""URLs of the inventory area."""

from django.urls import path

from . import views, views_audit, views_reorder

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
        views_audit.ProductHistoryView.as_view(),
        name="product-history",
    ),
    path("products/<int:pk>/chart.svg", views.ProductChartView.as_view(), name="product-chart"),
    path("products/import/", views.ProductImportView.as_view(), name="product-import"),
    path(
        "products/import/<str:token>/",
        views.ProductImportPreviewView.as_view(),
        name="product-import-preview",
    ),
    path("reorder/", views_reorder.ReorderDashboardView.as_view(), name="reorder-dashboard"),
    path(
        "reorder/draft-purchase-orders/",
        views_reorder.ReorderDraftPurchaseOrdersView.as_view(),
        name="reorder-draft-pos",
    ),
    path(
        "reorder/apply-safety-stock/",
        views_reorder.ReorderApplySafetyStockView.as_view(),
        name="reorder-apply-safety-stock",
    ),
]
