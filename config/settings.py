"""Backstock settings: everything that varies between machines comes from the environment."""

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env file is optional; real deployments set the variables themselves.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
# With debug off and no key, SECRET_KEY stays empty: Django then refuses every use of it (no
# session, sign-in or form works), `make serve` refuses to start (config/preflight.py) and
# `check --deploy` reports `backstock.E001`. Commands that sign nothing, such as
# `makemigrations --check`, still run.

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "common.apps.BackstockAdminConfig",  # django.contrib.admin with the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_filters",
    "django_tables2",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_tasks_db",
    # The layered apps, bottom up: each imports only the apps listed before it.
    "common",
    "inventory",
    "suppliers",
    "orders",
    "planning",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, before sessions and logging get involved.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RequestLogMiddleware",
    # Before sessions and views: control characters in a URL get the 400 page, in a form a
    # field error (common.input_guard).
    "common.input_guard.InputGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "common.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Near the end, so it sees a view's database failure first and answers with the 503 page.
    "common.database_errors.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.csp",
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
    # PostgreSQL compiles a plan to machine code (JIT) when its estimated cost is high, as the
    # reorder dashboard's grouped reads are at 100,000 products; there, compiling took longer
    # (about 0.5 s a page) than running them. Short OLTP queries gain nothing from it.
    if not env.bool("BACKSTOCK_POSTGRES_JIT", default=False):
        db_options = DATABASES["default"].setdefault("OPTIONS", {})
        db_options["options"] = f"{db_options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes checks every sign-in first and refuses it while the username + address is locked out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# collectstatic writes content-hashed names (cacheable forever) plus gzip/brotli copies, and
# WhiteNoise serves them from the app process. With DEBUG on, files are found in place instead.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

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

# Logs go to stdout: one JSON object per line in production (for a log collector), readable
# lines with debug on. Django's own loggers pass through the root handler only, once.
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "common.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django": {"handlers": [], "level": "INFO", "propagate": True}},
}

# --- Security ------------------------------------------------------------------------------
# Production defaults (debug off) pass `manage.py check --deploy --fail-level WARNING`; with
# debug on they relax so the development server works over plain HTTP.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips it from clients).
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every script and stylesheet is a file under /static/: no inline code, no style attributes.
# Bootstrap's stylesheet draws its icons (close button, select arrow) as data: images.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
}

# A session ends after this many seconds without a request; activity keeps it alive
# (common.middleware.SessionIdleMiddleware).
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_IDLE_SECONDS", default=8 * 60 * 60)
if SESSION_COOKIE_AGE < 60:
    raise ImproperlyConfigured("DJANGO_SESSION_IDLE_SECONDS must be at least 60.")

# Sign-in throttling (django-axes): this many failed sign-ins for one username from one address
# lock that pair out for the cool-off time; a successful sign-in clears the count.
AXES_FAILURE_LIMIT = env.int("BACKSTOCK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("BACKSTOCK_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "common.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "common.auth.client_ip"
# No start-up banner on stdout (it would mix into commands' output); lockouts are still logged.
AXES_VERBOSE = False
# Proxies in front of the app that append the client address to X-Forwarded-For (0: none, the
# peer address is the client).
BACKSTOCK_TRUSTED_PROXY_COUNT = env.int("BACKSTOCK_TRUSTED_PROXY_COUNT", default=0)

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
