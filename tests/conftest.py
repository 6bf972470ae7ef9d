"""Shared fixtures and the suite's rules about skipping.

- `@pytest.mark.postgres` tests skip on other databases, except when BACKSTOCK_REQUIRE_POSTGRES=1,
  where such a skip is a failure (CI's PostgreSQL pass must really run them).
- With CI=true any skipped test fails the session: a skip in CI hides a missing component.
- `@pytest.mark.browser` tests drive the system Chromium through Playwright; no browser is ever
  downloaded.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from backoffice.roles import MANAGER_GROUP, STAFF_GROUP
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)

# Playwright's sync API keeps an asyncio loop in the main thread, which would make Django refuse
# database access from the test body while a browser is open.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_DIR = Path(__file__).resolve().parent.parent / "test-artifacts"

phase_report_key = pytest.StashKey[dict[str, pytest.TestReport]]()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def in_ci() -> bool:
    return _env_flag("CI")


def postgres_required() -> bool:
    return _env_flag("BACKSTOCK_REQUIRE_POSTGRES")


# --- Hooks ---------------------------------------------------------------------------------------


# Node ids of skipped tests and modules. Module state, because pytest_runtest_logreport gets no
# config; one pytest process runs one session.
_skipped: list[str] = []


def pytest_report_header(config):
    return [
        f"database: {connection.vendor} ({connection.settings_dict['NAME']}), "
        f"CI={in_ci()}, BACKSTOCK_REQUIRE_POSTGRES={postgres_required()}"
    ]


def _postgres_missing_reason() -> str | None:
    if connection.vendor == "postgresql":
        return None
    return f"needs PostgreSQL (row locks); this run uses {connection.vendor}"


def pytest_collection_modifyitems(config, items):
    skip_reason = None if postgres_required() else _postgres_missing_reason()
    for item in items:
        if skip_reason and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=skip_reason))
        # A test that opens a page is a browser test even if its author forgot the marker, so
        # that `-m "not browser"` really leaves Chromium out.
        if "page" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)


def pytest_runtest_setup(item):
    # CI's PostgreSQL pass sets BACKSTOCK_REQUIRE_POSTGRES=1: there a missing PostgreSQL is a
    # broken pipeline, not a reason to skip.
    if postgres_required() and item.get_closest_marker("postgres"):
        reason = _postgres_missing_reason()
        if reason:
            pytest.fail(f"BACKSTOCK_REQUIRE_POSTGRES=1 but this test {reason}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(phase_report_key, {})[report.when] = report
    return report


def pytest_runtest_logreport(report):
    # xfail is reported as a skip too, but it ran; only real skips count.
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_collectreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if in_ci() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if in_ci() and _skipped:
        terminalreporter.section("skipped tests are failures in CI", red=True, bold=True)
        for nodeid in _skipped:
            terminalreporter.line(f"SKIPPED {nodeid}", red=True)
        terminalreporter.line(
            "Install the missing component (or deselect the tests with -m) instead of skipping.",
            red=True,
        )


# --- Users and basic rows ----------------------------------------------------------------------


@pytest.fixture
def staff_user(db):
    user = UserFactory(username="staff-user")
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    return user


@pytest.fixture
def manager_user(db):
    user = UserFactory(username="manager-user")
    user.groups.add(Group.objects.get(name=MANAGER_GROUP))
    return user


@pytest.fixture
def admin_user(db):
    """A superuser for the Django admin (replaces pytest-django's own, so admin_client uses it)."""
    return UserFactory(username="admin-user", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


@pytest.fixture
def product(db):
    return ProductFactory(sku="WIDGET-1", name="Blue widget")


@pytest.fixture
def gadget(db):
    """A second product, for orders and purchase orders of more than one line."""
    return ProductFactory(sku="GADGET-2", name="Red gadget")


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme Hardware")


@pytest.fixture
def supplier(db):
    return SupplierFactory(name="Northwind")


# --- Browser -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """The system Chromium, shared by the whole session. Never downloads a browser."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot_dir():
    path = ARTIFACTS_DIR / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser, live_server, screenshot_dir, request):
    """A fresh browser context per test, with relative URLs resolved against the live server.

    When the test fails, a screenshot lands in test-artifacts/screenshots/ for the CI log.
    """
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(phase_report_key, {})
    if any(report.failed for report in reports.values()):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        page.screenshot(path=screenshot_dir / f"{name}.png", full_page=True)
    context.close()
