"""A full-page screenshot of every main page, as a manager sees it with a little data, saved under
test-artifacts/screenshots/pages/ for review; each page must also load cleanly (its heading shown,
no failed request, nothing in the console)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import Release
from suppliers.services import shipment_receive
from tests.browser.conftest import days_ago
from tests.factories import ProductFactory, SupplierProductFactory
from tests.helpers import give_stock, place, sent_po

pytestmark = pytest.mark.django_db(transaction=True)

TABLET = {"width": 820, "height": 1180}


@pytest.fixture
def pages_dir(screenshot_dir):
    path = screenshot_dir / "pages"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def problems(page):
    """Console errors and failed requests of the page, as readable lines."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"console {message.type}: {message.text}")
            if message.type in {"error", "warning"}
            else None
        ),
    )
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.on(
        "response",
        lambda response: (
            seen.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return seen


def test_screenshot_of_every_main_page(
    page, problems, pages_dir, log_in, manager_user, warehouse, customers, supplier
):
    bolt = ProductFactory(sku="BOLT-M8", name="Hex bolt M8 × 40, zinc plated")
    nut = ProductFactory(sku="NUT-M8", name="Hex nut M8")
    washer = ProductFactory(sku="WASHER-8", name="Flat washer 8 mm")
    for product in (bolt, nut, washer):
        SupplierProductFactory(supplier=supplier, product=product, is_preferred=True)
    give_stock(bolt, warehouse, 40, by=manager_user)
    give_stock(washer, warehouse, 3, by=manager_user)
    order = place(
        customers[0],
        warehouse,
        [(bolt, 12), (nut, 6), (washer, 5)],
        by=manager_user,
        placed_at=days_ago(9),
    )
    place(customers[1], warehouse, [(nut, 4)], by=manager_user, placed_at=days_ago(2))
    po = sent_po(supplier, warehouse, [(nut, 20), (washer, 10)], by=manager_user)
    sent_po(supplier, warehouse, [(bolt, 50)], by=manager_user, expected_date=days_ago(3).date())

    log_in(page, manager_user)

    def shot(name: str, url: str, heading: str | re.Pattern) -> None:
        response = page.goto(url)
        assert response is not None
        assert response.ok, f"{url}: HTTP {response.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        page.screenshot(path=pages_dir / f"{name}.png", full_page=True)

    shot("home", "/", "Needs attention today")
    shot("stock-list", "/stock/", "Stock")
    shot("product-detail", bolt.get_absolute_url(), re.compile(r"^BOLT-M8"))
    shot("backorders", "/backorders/", "Backorders")
    shot("receiving", "/receiving/", "Expected deliveries")
    shot("receive-form", f"/purchase-orders/{po.pk}/receive/", f"Receive {po.number}")
    shot("orders-list", "/orders/", "Orders")
    shot("order-detail", order.get_absolute_url(), order.number)
    shot("order-ship", f"/orders/{order.pk}/ship/", re.compile(rf"^Ship {order.number}"))
    shot("order-create", "/orders/new/", "New order")
    shot("purchase-order-list", "/purchase-orders/", "Purchase orders")
    shot("purchase-order-detail", po.get_absolute_url(), po.number)
    shot("supplier-list", "/suppliers/", "Suppliers")

    # A partial delivery, so the review has a line that gets only part of what it waits for.
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={line.pk: 8 for line in po.lines.all()},
        idempotency_key="screenshot-delivery",
        by=manager_user,
    ).shipment
    shot(
        "release-review",
        f"/releases/review/?warehouse={warehouse.pk}&product={nut.pk}&product={washer.pk}"
        f"&shipment={shipment.pk}",
        "Release stock to waiting orders",
    )
    page.get_by_role("button", name="Confirm release").click()
    expect(page).to_have_url(re.compile(r"/releases/\d+/$"))
    release = Release.objects.get()
    shot("release-result", f"/releases/{release.pk}/", release.number)

    page.set_viewport_size(TABLET)
    shot("stock-list-tablet", "/stock/", "Stock")

    assert problems == []
