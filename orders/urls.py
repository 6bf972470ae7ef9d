"""URLs of the orders area."""

from django.urls import path

from . import views
from .views.history import OrderHistoryView

app_name = "orders"

urlpatterns = [
    path("orders/", views.OrderListView.as_view(), name="order-list"),
    path("orders/new/", views.OrderCreateView.as_view(), name="order-create"),
    path("orders/new/sku-lookup/", views.ProductLookupView.as_view(), name="product-lookup"),
    path(
        "orders/new/customer-lookup/",
        views.CustomerLookupView.as_view(),
        name="customer-lookup",
    ),
    path("orders/import/", views.OrderImportView.as_view(), name="order-import"),
    path(
        "orders/import/<str:token>/",
        views.OrderImportPreviewView.as_view(),
        name="order-import-preview",
    ),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<int:pk>/history/", OrderHistoryView.as_view(), name="order-history"),
    path("orders/<int:pk>/ship/", views.OrderShipView.as_view(), name="order-ship"),
    path("orders/<int:pk>/cancel/", views.OrderCancelView.as_view(), name="order-cancel"),
    path(
        "orders/lines/<int:pk>/cancel/",
        views.OrderLineCancelView.as_view(),
        name="orderline-cancel",
    ),
    path("backorders/", views.BackorderListView.as_view(), name="backorder-list"),
    path("customers/new/", views.CustomerCreateView.as_view(), name="customer-create"),
    path("releases/review/", views.ReleaseReviewView.as_view(), name="release-review"),
    path("releases/<int:pk>/", views.ReleaseDetailView.as_view(), name="release-detail"),
]
