"""The project package as an app, so its signal receivers connect at start-up."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BackstockConfig(AppConfig):
    name = "config"
    label = "backstock"
    verbose_name = "Backstock"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from config import checks  # noqa: F401 - registers the system checks
        from config.middleware import session_mark_refreshed

        def stamp_session(sender, request, user, **kwargs):
            # A fresh sign-in counts as activity; without the stamp the next request would save
            # the session again.
            if request is not None and hasattr(request, "session"):
                session_mark_refreshed(request.session)

        user_logged_in.connect(stamp_session, dispatch_uid="backstock-session-stamp", weak=False)


class BackstockAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site (config/admin_site.py) as `admin.site`."""

    default_site = "config.admin_site.BackstockAdminSite"
