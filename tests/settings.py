"""Settings for the test run: the real settings, loadable without a production secret.

pytest-django imports the settings before any conftest.py runs, so the test-only key has to be
provided here rather than in a fixture. DJANGO_DEBUG makes no difference to the suite.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-insecure-key-never-deployed")

from config.settings import *  # noqa: F403

# Hashing dominates user creation otherwise; the real hashers are Django's to test, not ours.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tasks run inline when enqueued (after commit); tests that need the stored queue and its worker
# switch to the database backend themselves.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# The suite talks plain HTTP to the test client and the live server: no redirect to HTTPS.
SECURE_SSL_REDIRECT = False
# No collectstatic before tests: static files are found in place (tests/test_serving.py checks
# the hashed, compressed production build separately).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
