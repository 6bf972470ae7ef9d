"""Production security: deploy checks, headers, the Content-Security-Policy, sign-in throttling,
idle sessions, and what an anonymous visitor can reach."""

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern
from django.utils import timezone

from common.middleware import SESSION_REFRESHED_KEY, session_refresh_interval
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's password

# --- manage.py check --deploy --------------------------------------------------------------------


def _check_database_url(tmp_path) -> str:
    """The model checks ask the database about its features: on PostgreSQL the run's own test
    database answers, otherwise a throwaway SQLite file."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'check.sqlite3'}"
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db
def test_deploy_check_is_clean_with_production_settings(tmp_path):
    """The real settings in a fresh interpreter, with what a production host sets and no more."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": _check_database_url(tmp_path),
        "DJANGO_ALLOWED_HOSTS": "stock.example.com",
        "DJANGO_EMAIL_URL": "smtp+tls://mailer:secret@mail.example.com:587",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output


# --- Headers -------------------------------------------------------------------------------------

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}


def _policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return dict(directives)


@pytest.mark.django_db
@pytest.mark.parametrize("signed_in", [False, True])
def test_pages_carry_a_strict_content_security_policy_and_security_headers(
    client, staff_user, signed_in
):
    if signed_in:
        client.force_login(staff_user)
    response = client.get(reverse("home") if signed_in else reverse("login"))

    assert response.status_code == 200
    policy = _policy(response["Content-Security-Policy"])
    assert policy == EXPECTED_CSP
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_production_defaults_are_secure():
    # The suite runs with debug off, i.e. the production defaults (SSL redirect aside, which
    # tests/settings.py turns off for plain-HTTP test clients).
    assert not settings.DEBUG
    assert settings.SECURE_HSTS_SECONDS >= 31_536_000
    assert settings.SESSION_COOKIE_SECURE
    assert settings.CSRF_COOKIE_SECURE
    assert settings.SESSION_COOKIE_HTTPONLY


# --- No inline code or styles in what we serve ---------------------------------------------------

TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
INLINE_STYLE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE_TAG = re.compile(r"<style\b", re.IGNORECASE)


def _template_files():
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_the_template_scan_finds_templates():
    names = {path.name for path in _template_files()}
    assert {"base.html", "login.html", "stocklevel_list.html"} <= names


@pytest.mark.parametrize("path", _template_files(), ids=lambda path: path.name)
def test_templates_have_no_inline_scripts_styles_or_handlers(path):
    text = path.read_text()

    assert not INLINE_STYLE.search(text), "style= attribute"
    assert not STYLE_TAG.search(text), "<style> element"
    assert not HANDLER_ATTRIBUTE.search(text), "on...= event handler attribute"
    for attributes in SCRIPT_TAG.findall(text):
        assert "src=" in attributes, f"inline <script{attributes}>"


@pytest.mark.parametrize("module", ["inventory/charts.py", "planning/charts.py"])
def test_server_rendered_charts_use_no_style_attributes(module):
    source = (BASE_DIR / module).read_text()
    # The docstrings say why; no string in the code writes one.
    code = re.sub(r'"""[\s\S]*?"""', "", source)
    assert "style=" not in code


# --- Sign-in throttling --------------------------------------------------------------------------


def _sign_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk")


@pytest.mark.django_db
def test_sign_in_still_works_after_failures_below_the_limit(client, clerk):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "clerk", "wrong").status_code == 200

    response = _sign_in(client, "clerk", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    # Success clears the count: the next failure starts from one again.
    assert not AccessAttempt.objects.filter(username="clerk").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_an_over_long_username_is_refused_before_anything_is_recorded(client, url_name):
    """Django's sign-in forms leave the username's length unchecked; unchecked, it reached
    django-axes' 255-character column and failed on PostgreSQL."""
    response = client.post(reverse(url_name), {"username": "9" * 300, "password": "x"})

    assert response.status_code == 200
    assert "A username has at most 150 characters." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_too_many_failures_lock_out_username_and_address_with_a_clear_message(client, clerk):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(5):
        _sign_in(client, "clerk", "wrong")

    response = _sign_in(client, "clerk", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed sign-ins for this username from your address" in page
    assert "for 15 minutes" in page
    # The sign-in form itself, in the site's layout, not a bare error text.
    assert 'name="username"' in page
    assert 'value="clerk"' in page
    assert "<nav" in page


@pytest.mark.django_db
def test_a_lockout_holds_one_username_from_one_address_only(clerk):
    UserFactory(username="packer")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        _sign_in(attacker, "clerk", "wrong")

    assert _sign_in(attacker, "clerk", PASSWORD).status_code == 429
    assert _sign_in(attacker, "packer", PASSWORD).status_code == 302
    assert _sign_in(Client(REMOTE_ADDR="198.51.100.7"), "clerk", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_too(client, admin_user):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "admin-user", "password": "wrong"})

    response = client.post(reverse("admin:login"), {"username": "admin-user", "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off_time(client, clerk):
    for _ in range(5):
        _sign_in(client, "clerk", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))

    assert _sign_in(client, "clerk", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_axes_reset_lifts_a_lockout(client, clerk):
    for _ in range(5):
        _sign_in(client, "clerk", "wrong")
    assert _sign_in(client, "clerk", PASSWORD).status_code == 429

    call_command("axes_reset_username", "clerk")

    assert _sign_in(client, "clerk", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_counted(settings, clerk):
    settings.BACKSTOCK_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def from_client(address):
        # The client may send its own X-Forwarded-For; the proxy appends the real address.
        return Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {address}")

    for _ in range(5):
        _sign_in(from_client("203.0.113.9"), "clerk", "wrong")

    assert _sign_in(from_client("203.0.113.9"), "clerk", PASSWORD).status_code == 429
    # Another client behind the same proxy is not locked out with the first.
    assert _sign_in(from_client("198.51.100.7"), "clerk", PASSWORD).status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"


# --- Idle sessions -------------------------------------------------------------------------------


def test_sessions_end_after_eight_idle_hours_by_default():
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert not settings.SESSION_SAVE_EVERY_REQUEST
    assert session_refresh_interval() == 300


def _stored_expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


@pytest.mark.django_db
def test_activity_after_the_refresh_interval_pushes_the_expiry(client, staff_user):
    client.force_login(staff_user)
    session = client.session
    session[SESSION_REFRESHED_KEY] = int(time.time()) - session_refresh_interval() - 1
    session.set_expiry(None)
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + dt.timedelta(minutes=2)
    )

    response = client.get(reverse("home"))

    assert response.status_code == 200
    expiry = _stored_expiry(client)
    assert expiry > timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE


@pytest.mark.django_db
def test_activity_within_the_refresh_interval_writes_nothing(client, staff_user):
    client.force_login(staff_user)
    before = _stored_expiry(client)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert not any("django_session" in q["sql"] and "UPDATE" in q["sql"] for q in queries)
    assert "sessionid" not in response.cookies
    assert _stored_expiry(client) == before


@pytest.mark.django_db
def test_an_idle_session_has_ended(client, staff_user):
    client.force_login(staff_user)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- What anonymous visitors reach ---------------------------------------------------------------

# Sample values for URL parameters, by name; anything else gets "1".
SAMPLES = {"app_label": "inventory", "token": "0123456789abcdef", "url": "no-such-page/"}
ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _sample_route(route: str) -> str:
    return ROUTE_PARAMETER.sub(lambda m: str(SAMPLES.get(m["name"], "1")), route)


def _sample_regex(regex: str) -> str:
    return REGEX_GROUP.sub(lambda m: SAMPLES.get(m["name"], "1"), regex.lstrip("^").rstrip("$"))


def _sample(entry: URLPattern | URLResolver) -> str:
    text = str(entry.pattern)
    if isinstance(entry.pattern, RegexPattern):
        return _sample_regex(text)
    return _sample_route(text)


def _every_url(resolver: URLResolver | None = None, prefix: str = "/"):
    """(sample path, pattern) for every URL pattern of the project, the admin's included."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _every_url(entry, prefix + _sample(entry))
        elif isinstance(entry, URLPattern):
            yield prefix + _sample(entry), entry


ANONYMOUS_PAGES = {"/accounts/login/", "/admin/login/", "/healthz"}


def _first_pattern_by_path() -> dict[str, URLPattern]:
    """Several patterns can share a sample path (e.g. two areas' lists at one prefix); the
    resolver answers with the first, so that is the one checked."""
    patterns: dict[str, URLPattern] = {}
    for path, pattern in _every_url():
        patterns.setdefault(path, pattern)
    return patterns


@pytest.fixture(scope="module")
def every_url():
    return list(_every_url())


def test_the_walk_reaches_every_area_and_the_admin(every_url):
    paths = {path for path, _ in every_url}
    assert len(paths) > 80
    assert {"/", "/healthz", "/admin/", "/admin/inventory/product/"} <= paths
    assert any(path.startswith("/admin/inventory/product/1/") for path in paths)


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(_first_pattern_by_path()))
def test_anonymous_visitors_reach_nothing_but_sign_in_and_health(client, path):
    match = resolve(path)
    pattern = _first_pattern_by_path()[path]
    # The sample path must really lead to the pattern it stands for.
    assert match.func == pattern.callback, (path, match)

    for method in ("get", "post"):
        response = getattr(client, method)(path)
        status, location = response.status_code, response.get("Location", "")
        if path in ANONYMOUS_PAGES:
            assert status in {200, 405}, (method, status)
        elif path == "/accounts/logout/" and method == "get":
            assert status == 405  # signing out is a POST; a GET shows nothing
        elif path == "/admin/logout/":
            # The admin sends an anonymous visitor to its index, which asks them to sign in.
            assert status == 302, (method, status)
            assert location in {reverse("admin:index"), reverse("admin:login")} or (
                location.startswith(reverse("admin:login"))
            )
        else:
            assert status == 302, (method, status, response.content[:200])
            assert location.startswith((reverse("login"), reverse("admin:login"))), location
