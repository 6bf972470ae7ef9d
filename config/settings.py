"""Backstock settings: everything that varies between machines comes from the environment."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the variables themselves.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production)."
        )
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tables2",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks_db",
    "inventory",
    "suppliers",
    "orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Near the end, so it sees a view's database failure first and answers with the 503 page.
    "config.database_errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# SQLite by default so the demo needs no server; PostgreSQL in production and in CI's second pass.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for the lock instead of failing at once; WAL lets readers go on meanwhile.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# One URL configures outgoing mail, e.g. smtp+tls://user:pass@mail.example.com:587; the console
# backend (mail printed to the terminal) is the development default.
_email = env.email_url("DJANGO_EMAIL_URL", default="consolemail://")
_email_options = {
    option: _email[key]
    for key, option in [
        ("EMAIL_HOST", "host"),
        ("EMAIL_PORT", "port"),
        ("EMAIL_HOST_USER", "username"),
        ("EMAIL_HOST_PASSWORD", "password"),
        ("EMAIL_USE_TLS", "use_tls"),
        ("EMAIL_USE_SSL", "use_ssl"),
        ("EMAIL_TIMEOUT", "timeout"),
        ("EMAIL_FILE_PATH", "file_path"),
    ]
    if _email.get(key) not in (None, "")
}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="backstock@localhost")

# Slow side effects (customer emails) run as tasks stored in the database and executed by
# `manage.py db_worker` (`make worker`), so a slow or failing mail server never holds up a request.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- Backstock domain settings -------------------------------------------------------------
# Receipts may exceed the ordered quantity by at most this share (0 = exactly what was ordered).
BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT = env.float(
    "BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT", default=0.0
)
# Largest quantity any form or service accepts; anything above is treated as a typo.
BACKSTOCK_MAX_QUANTITY = 1_000_000_000
# Demand look-back window for safety stock and reorder suggestions.
BACKSTOCK_DEMAND_WINDOW_DAYS = env.int("BACKSTOCK_DEMAND_WINDOW_DAYS", default=90)
# Chance of not running out during a lead time that safety stock suggestions aim for; a product's
# own service level overrides it.
BACKSTOCK_SERVICE_LEVEL = env.float("BACKSTOCK_SERVICE_LEVEL", default=0.95)
if not 0.5 <= BACKSTOCK_SERVICE_LEVEL < 1:
    raise ImproperlyConfigured("BACKSTOCK_SERVICE_LEVEL must be at least 0.5 and below 1.")
# Days between purchasing reviews: a suggested order covers the reorder point plus this much demand.
BACKSTOCK_REVIEW_PERIOD_DAYS = env.int("BACKSTOCK_REVIEW_PERIOD_DAYS", default=14)
# Annual cost of holding stock as a share of its unit cost (0.25 = 25 % a year) and the cost of
# placing one order where a supplier has none of its own; the EOQ is shown only when both are set.
BACKSTOCK_HOLDING_COST_RATE = env.float("BACKSTOCK_HOLDING_COST_RATE", default=None)
BACKSTOCK_ORDERING_COST = env.float("BACKSTOCK_ORDERING_COST", default=None)
# Uploaded CSV imports wait here between preview and confirmation (shared storage when several
# app servers run); the system temporary directory by default.
BACKSTOCK_IMPORT_DIR = env.str("BACKSTOCK_IMPORT_DIR", default="")
