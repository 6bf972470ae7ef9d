"""Top-level URLs: the three areas, sign-in, and the Django admin for data fixes."""

from django.contrib import admin
from django.urls import include, path

from inventory.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("inventory.urls")),
    path("", include("orders.urls")),
    path("", include("suppliers.urls")),
    path("admin/", admin.site.urls),
]
