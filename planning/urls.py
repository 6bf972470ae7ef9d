"""URLs of the planning area: the reorder dashboard and what a manager does from it."""

from django.urls import path

from . import views

app_name = "planning"

urlpatterns = [
    path("reorder/", views.ReorderDashboardView.as_view(), name="reorder-dashboard"),
    path(
        "reorder/draft-purchase-orders/",
        views.ReorderDraftPurchaseOrdersView.as_view(),
        name="reorder-draft-pos",
    ),
    path(
        "reorder/apply-safety-stock/",
        views.ReorderApplySafetyStockView.as_view(),
        name="reorder-apply-safety-stock",
    ),
]
