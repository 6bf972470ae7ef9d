"""Layout at tablet width, where staff on the floor work: the stock row fits without scrolling
sideways to the safety stock, and number columns keep their distance from the text after them."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import ProductFactory
from tests.helpers import give_stock, place

pytestmark = pytest.mark.django_db(transaction=True)


def test_stock_list_shows_safety_stock_without_scrolling_at_tablet_width(
    page, staff_user, warehouse
):
    for n in range(3):
        product = ProductFactory(sku=f"ADH-DCT-BLK-{n}", name="Cloth duct tape 50 mm × 50 m, black")
        give_stock(product, warehouse, 40 + n, by=staff_user)
    page.set_viewport_size({"width": 820, "height": 1000})
    sign_in(page, staff_user.username)
    page.goto("/stock/")
    header = page.locator("table.stock-table thead th").filter(has_text="Safety stock")
    box = header.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 820
    assert page.evaluate("document.documentElement.scrollWidth") <= 820


def test_order_lines_keep_a_gap_between_cancelled_and_eta(page, staff_user, warehouse, customers):
    product = ProductFactory(sku="WAIT-1")
    order = place(customers[0], warehouse, [(product, 7)], by=staff_user)
    page.set_viewport_size({"width": 820, "height": 1000})
    sign_in(page, staff_user.username)
    page.goto(f"/orders/{order.pk}/")
    cells = page.locator("[data-testid=order-lines] thead th")
    cancelled = cells.filter(has_text="Cancelled").bounding_box()
    eta = cells.filter(has_text="ETA").bounding_box()
    assert cancelled is not None
    assert eta is not None
    text_gap = page.evaluate(
        """() => {
            const heads = [...document.querySelectorAll('[data-testid=order-lines] thead th')];
            const cancelled = heads.find(th => th.textContent.trim() === 'Cancelled');
            const eta = heads.find(th => th.textContent.trim() === 'ETA');
            const range = document.createRange();
            range.selectNodeContents(cancelled);
            const end = range.getBoundingClientRect().right;
            range.selectNodeContents(eta);
            return range.getBoundingClientRect().left - end;
        }"""
    )
    assert text_gap >= 16
