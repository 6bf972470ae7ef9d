from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.contrib.auth.signals import user_logged_in


class CommonConfig(AppConfig):
    """Shared building blocks and the project's cross-cutting pieces (sign-in, middleware, system
    checks, the admin site) and the Submission table behind idempotent create forms."""

    name = "common"

    def ready(self):
        # Imported once the registry is ready: the middleware module reads the session models.
        from common import checks  # noqa: F401 - registers the system checks
        from common.input_guard import forms_guard_install
        from common.middleware import session_mark_refreshed

        def stamp_session(sender, request, user, **kwargs):
            # A fresh sign-in counts as activity; without the stamp the next request would save
            # the session again.
            if request is not None and hasattr(request, "session"):
                session_mark_refreshed(request.session)

        forms_guard_install()
        user_logged_in.connect(stamp_session, dispatch_uid="backstock-session-stamp", weak=False)


class BackstockAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the project's site (common/admin_site.py) as `admin.site`;
    named in INSTALLED_APPS in place of django.contrib.admin."""

    default = False

    default_site = "common.admin_site.BackstockAdminSite"
