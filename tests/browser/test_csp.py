"""The Content-Security-Policy, as Chromium enforces it: every main page, the Django admin and the
htmx inline edit load without a single blocked script, style or image."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from inventory.models import StockLevel
from orders.models import OrderLine, Release
from tests.browser.conftest import sign_in
from tests.factories import ProductFactory, SupplierProductFactory, UserFactory
from tests.helpers import give_stock, level_for, place, sent_po

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in every document before the page's own scripts (Playwright injects it outside the
# page's policy) and reports each violation to the test.
LISTEN_FOR_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${document.location.pathname}`
  );
});
"""


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Everything the policy blocked on `page`: violation events and CSP console errors."""
    found: list[str] = []

    def report(text: str) -> None:
        found.append(text)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"console: {message.text}")

    page.expose_function("reportCspViolation", report)
    page.add_init_script(LISTEN_FOR_VIOLATIONS)
    page.on("console", on_console)
    return found


def _visit(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, (path, response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("load")


@pytest.fixture
def world(warehouse, customers, supplier):
    """A little of everything, so each page has rows, charts and forms to render."""
    clerk = UserFactory(username="world-clerk")
    widget, gadget = ProductFactory(sku="WIDGET-1"), ProductFactory(sku="GADGET-2")
    give_stock(widget, warehouse, 10, by=clerk)
    give_stock(gadget, warehouse, 4, by=clerk)
    SupplierProductFactory(supplier=supplier, product=widget, is_preferred=True)
    order = place(customers[0], warehouse, [(widget, 15), (gadget, 2)], by=clerk)
    po = sent_po(supplier, warehouse, [(widget, 20)], by=clerk)
    # Stock that arrives while a customer waits: the release review has something to propose.
    give_stock(widget, warehouse, 3, by=clerk, reason="Found on the wrong shelf")
    release = Release.objects.create(warehouse=warehouse, created_by=clerk)
    return {
        "widget": widget,
        "order": order,
        "po": po,
        "supplier": supplier,
        "release": release,
        "warehouse": warehouse,
        "level": level_for(widget, warehouse),
    }


def _app_pages(world) -> list[str]:
    warehouse, widget = world["warehouse"], world["widget"]
    return [
        reverse("home"),
        reverse("inventory:stock-list"),
        reverse("inventory:product-detail", args=[widget.pk]),
        reverse("inventory:stocklevel-adjust", args=[world["level"].pk]),
        reverse("orders:backorder-list"),
        reverse("orders:order-list"),
        reverse("orders:order-detail", args=[world["order"].pk]),
        reverse("orders:order-create"),
        reverse("orders:order-import"),
        reverse("suppliers:receiving-list"),
        reverse("suppliers:receive", args=[world["po"].pk]),
        f"{reverse('orders:release-review')}?warehouse={warehouse.pk}&product={widget.pk}",
        reverse("orders:release-detail", args=[world["release"].pk]),
        reverse("suppliers:supplier-list"),
        reverse("suppliers:supplier-detail", args=[world["supplier"].pk]),
        reverse("suppliers:purchaseorder-list"),
        reverse("suppliers:purchaseorder-detail", args=[world["po"].pk]),
        reverse("suppliers:purchaseorder-create"),
        reverse("suppliers:product-import"),
        reverse("planning:reorder-dashboard"),
    ]


def test_every_main_page_loads_without_a_policy_violation(page, violations, manager_user, world):
    sign_in(page, manager_user.username)

    for path in _app_pages(world):
        _visit(page, path)

    assert violations == []
    # The pages really were the pages, charts included.
    _visit(page, reverse("planning:reorder-dashboard"))
    expect(page.locator("svg").first).to_be_visible()


def test_the_inline_safety_stock_edit_works_under_the_policy(page, violations, staff_user, world):
    sign_in(page, staff_user.username)
    _visit(page, reverse("inventory:stock-list"))
    page.evaluate("window.stillSamePage = true")

    page.get_by_title("Change the safety stock of WIDGET-1 at MAIN").click()
    page.get_by_label("Safety stock of WIDGET-1 at MAIN").fill("7")
    page.get_by_role("row").filter(has_text="WIDGET-1").get_by_role("button", name="Save").click()

    expect(page.get_by_title("Change the safety stock of WIDGET-1 at MAIN")).to_have_text("7")
    assert page.evaluate("window.stillSamePage") is True
    assert StockLevel.objects.get(pk=world["level"].pk).safety_stock == 7
    assert violations == []


def test_the_django_admin_works_under_the_policy(page, violations, admin_user, world):
    page.goto(reverse("admin:login"))
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Data fixes")).to_be_visible()

    line = OrderLine.objects.filter(order=world["order"]).first()
    for path in [
        reverse("admin:index"),
        reverse("admin:inventory_product_changelist"),
        reverse("admin:inventory_product_change", args=[world["widget"].pk]),
        reverse("admin:inventory_stocklevel_changelist"),
        reverse("admin:orders_orderline_change", args=[line.pk]),
    ]:
        _visit(page, path)

    # The admin's own scripts ran: the changelist filter sidebar and the theme toggle are live.
    _visit(page, reverse("admin:inventory_product_changelist"))
    page.get_by_role("searchbox").fill("WIDGET")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="WIDGET-1")).to_be_visible()
    assert violations == []


def test_the_violation_listener_catches_an_inline_script(page, violations, staff_user):
    """The other tests are only as good as this listener: an inline script must be reported."""
    sign_in(page, staff_user.username)

    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.ranInline = true'; document.body.append(s); }"
    )

    # The event arrives asynchronously; give it up to two seconds.
    for _ in range(20):
        if violations:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("window.ranInline === undefined")
    assert any("script-src" in violation for violation in violations), violations
