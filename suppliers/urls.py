"""URLs of the suppliers area: receiving, suppliers, purchase orders and the product import."""

from django.urls import path

from . import views

app_name = "suppliers"

urlpatterns = [
    path("receiving/", views.ReceivingListView.as_view(), name="receiving-list"),
    path("products/import/", views.ProductImportView.as_view(), name="product-import"),
    path(
        "products/import/<str:token>/",
        views.ProductImportPreviewView.as_view(),
        name="product-import-preview",
    ),
    path(
        "purchase-orders/<int:pk>/history/",
        views.PurchaseOrderHistoryView.as_view(),
        name="purchaseorder-history",
    ),
    path("purchase-orders/<int:pk>/receive/", views.ReceiveView.as_view(), name="receive"),
    path("suppliers/", views.SupplierListView.as_view(), name="supplier-list"),
    path("suppliers/<int:pk>/", views.SupplierDetailView.as_view(), name="supplier-detail"),
    path("purchase-orders/", views.PurchaseOrderListView.as_view(), name="purchaseorder-list"),
    path(
        "purchase-orders/new/",
        views.PurchaseOrderCreateView.as_view(),
        name="purchaseorder-create",
    ),
    path(
        "purchase-orders/new/supplier-lookup/",
        views.SupplierLookupView.as_view(),
        name="supplier-lookup",
    ),
    path(
        "purchase-orders/<int:pk>/",
        views.PurchaseOrderDetailView.as_view(),
        name="purchaseorder-detail",
    ),
    path(
        "purchase-orders/<int:pk>/send/",
        views.PurchaseOrderSendView.as_view(),
        name="purchaseorder-send",
    ),
    path(
        "purchase-orders/<int:pk>/cancel/",
        views.PurchaseOrderCancelView.as_view(),
        name="purchaseorder-cancel",
    ),
]
