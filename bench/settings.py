"""Settings of the benchmark process: production settings (debug off), with static files found
in place. The benchmark times the application's own work; in production the static files are a
collected, hashed build that needs a `collectstatic` the benchmark does not run."""

from config.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
