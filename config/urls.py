"""Top-level URLs: the three areas, sign-in, the health check, and the Django admin for data
fixes.

Only sign-in, /healthz and static files answer anonymous visitors. Password reset by email is
left out on purpose: accounts belong to staff, and an administrator sets a forgotten password.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from backoffice.views import HomeView
from common.auth import SignInForm
from common.health import healthz

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("healthz", healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("inventory.urls")),
    path("", include("orders.urls")),
    path("", include("suppliers.urls")),
    path("", include("planning.urls")),
    path("admin/", admin.site.urls),
]

# A lost database is answered with the 503 page whichever layer finds out (see
# common.database_errors); other errors keep Django's pages.
handler400 = "common.database_errors.bad_request"
handler500 = "common.database_errors.server_error"
