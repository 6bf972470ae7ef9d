"""Settings of the app server the load test starts: production settings, except that static
files are named plainly, so no `collectstatic` run is needed first (the load test fetches pages,
never static files)."""

from config.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
