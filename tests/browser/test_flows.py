"""The everyday flows, clicked through in Chromium as staff would: sign in, set safety stock on the
stock table, place an order that is partly backordered, ship an order, and press a submit button
twice without doing anything twice."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import StockLevel
from inventory.services import safety_stock_set
from orders.models import OrderLine, SalesOrder, SalesOrderStatus
from suppliers.models import Shipment
from tests.browser.conftest import PASSWORD, nav
from tests.factories import ProductFactory
from tests.helpers import give_stock, level_for, place, sent_po

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_shows_home_with_attention_counts_then_sign_out(
    page, staff_user, warehouse, customers, supplier
):
    shelf, waiting_a, waiting_b = (
        ProductFactory(sku="SHELF-1"),
        ProductFactory(sku="WAIT-A"),
        ProductFactory(sku="WAIT-B"),
    )
    give_stock(shelf, warehouse, 5, by=staff_user)
    safety_stock_set(
        level_ids=[level_for(shelf, warehouse).pk], value=4, reason="Busy season", by=staff_user
    )
    place(customers[0], warehouse, [(shelf, 3)], by=staff_user)  # ready; leaves 2 < 4 safety
    place(customers[1], warehouse, [(waiting_a, 2), (waiting_b, 1)], by=staff_user)
    sent_po(supplier, warehouse, [(waiting_a, 5)], by=staff_user, expected_date=_today())
    sent_po(supplier, warehouse, [(waiting_b, 5)], by=staff_user, expected_date=_yesterday())

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("staff-user")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    expect(page.get_by_test_id("signed-in-user")).to_have_count(0)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Needs attention today")).to_be_visible()
    expect(page.get_by_test_id("signed-in-user")).to_have_text("staff-user")
    counts = {
        "attention-backorders": "2",
        "attention-below-safety": "1",
        "attention-releasable": "0",
        "attention-expected-today": "1",
        "attention-overdue": "1",
        "attention-ready": "1",
    }
    for test_id, count in counts.items():
        expect(page.get_by_test_id(test_id).locator(".display-6")).to_have_text(count)
    expect(page.get_by_test_id("attention-backorders")).to_contain_text("Oldest waiting since")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_count(0)
    page.goto("/stock/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/stock/$"))


def test_safety_stock_set_inline_without_reloading_then_in_bulk(
    page, log_in, staff_user, warehouse
):
    widget, gadget = ProductFactory(sku="WIDGET-1"), ProductFactory(sku="GADGET-2")
    give_stock(widget, warehouse, 10, by=staff_user)
    give_stock(gadget, warehouse, 10, by=staff_user)
    widget_level, gadget_level = level_for(widget, warehouse), level_for(gadget, warehouse)

    log_in(page, staff_user)
    nav(page, "Stock").click()
    expect(page.get_by_role("heading", name="Stock")).to_be_visible()
    # The heading shows before the scripts at the end of the page have run; until htmx has
    # started, the link is a plain link and a click loads the full form page.
    page.wait_for_load_state("load")
    url = page.url
    # A full page load would wipe this; an htmx swap keeps it.
    page.evaluate("window.stillSamePage = true")

    widget_row = page.get_by_role("row").filter(has_text="WIDGET-1")
    page.get_by_title("Change the safety stock of WIDGET-1 at MAIN").click()
    box = page.get_by_label("Safety stock of WIDGET-1 at MAIN")
    expect(box).to_have_value("0")
    box.fill("12")
    widget_row.get_by_label("Reason").fill("Supplier is slow this quarter")
    widget_row.get_by_role("button", name="Save").click()

    link = page.get_by_title("Change the safety stock of WIDGET-1 at MAIN")
    expect(link).to_have_text("12")
    expect(widget_row.get_by_role("status")).to_have_text("saved")
    expect(box).to_have_count(0)
    # 10 available < 12 safety stock: the row says so in words at once, not only after a reload.
    expect(widget_row).to_contain_text("below safety")
    assert page.url == url
    assert page.evaluate("window.stillSamePage") is True
    widget_level.refresh_from_db()
    assert widget_level.safety_stock == 12

    # Cancel puts the value back without saving.
    link.click()
    page.get_by_label("Safety stock of WIDGET-1 at MAIN").fill("99")
    widget_row.get_by_role("button", name="Cancel").click()
    expect(link).to_have_text("12")
    assert StockLevel.objects.get(pk=widget_level.pk).safety_stock == 12

    page.get_by_role("checkbox", name="Select WIDGET-1 at MAIN").check()
    page.get_by_role("checkbox", name="Select GADGET-2 at MAIN").check()
    page.get_by_label("Safety stock", exact=True).fill("3")
    page.get_by_label("Reason (optional)").fill("Quarterly review")
    page.get_by_role("button", name="Set for ticked rows").click()
    expect(
        page.get_by_role("alert").filter(has_text="Safety stock set to 3 on 2 rows")
    ).to_be_visible()
    expect(page.get_by_title("Change the safety stock of GADGET-2 at MAIN")).to_have_text("3")
    expect(page.get_by_title("Change the safety stock of WIDGET-1 at MAIN")).to_have_text("3")
    assert sorted(
        StockLevel.objects.filter(pk__in=[widget_level.pk, gadget_level.pk]).values_list(
            "safety_stock", flat=True
        )
    ) == [3, 3]


def test_place_order_partly_backordered_shows_allocated_backordered_and_eta(
    page, log_in, staff_user, warehouse, customers, supplier
):
    plenty = ProductFactory(sku="PLENTY-1", name="Plenty bolts")
    short = ProductFactory(sku="SHORT-2", name="Short nuts")
    ProductFactory(sku="NONE-3", name="Nowhere washers")  # no stock, nothing on order
    give_stock(plenty, warehouse, 20, by=staff_user)
    give_stock(short, warehouse, 2, by=staff_user)
    due = timezone.localdate() + dt.timedelta(days=10)
    po = sent_po(supplier, warehouse, [(short, 10)], by=staff_user, expected_date=due)

    log_in(page, staff_user)
    nav(page, "Orders").click()
    page.get_by_role("link", name="New order").click()
    page.get_by_role("combobox", name="Customer").fill("Birch & Sons")
    page.get_by_role("combobox", name="Warehouse").select_option(label="MAIN – Main warehouse")
    page.get_by_label("Customer reference").fill("PO 4471")
    rows = page.locator("tr[data-line-row]")
    for row, (sku, quantity) in zip(
        rows.all(), [("plenty-1", "4"), ("SHORT-2", "5"), ("NONE-3", "1")], strict=True
    ):
        row.get_by_placeholder("Type a SKU").fill(sku)
        row.get_by_role("spinbutton").fill(quantity)
    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order = SalesOrder.objects.get()
    assert page.url.endswith(f"/orders/{order.pk}/")
    expect(page.get_by_role("heading", name=order.number)).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text=f"{order.number} placed")).to_contain_text(
        "1 line allocated, 2 backordered"
    )
    expect(page.get_by_test_id("order-status")).to_have_text("Waiting for stock")
    # SKU, product, ordered, allocated, backordered, shipped, cancelled, ETA, (cancel button)
    expected = {
        "PLENTY-1": ["PLENTY-1", "Plenty bolts", "4", "4", "0", "0", "0", ""],
        "SHORT-2": ["SHORT-2", "Short nuts", "5", "2", "3", "0", "0", f"{due:%d %b %Y}"],
        "NONE-3": ["NONE-3", "Nowhere washers", "1", "0", "1", "0", "0", "No supply ordered"],
    }
    lines_table = page.get_by_test_id("order-lines")
    for sku, cells in expected.items():
        row = lines_table.get_by_role("row").filter(has_text=sku)
        eta = re.compile(rf"^\s*{re.escape(cells[7])}") if cells[7] else ""
        expect(row.get_by_role("cell")).to_have_text([*cells[:7], eta, re.compile(".*")])
    expect(page.get_by_test_id("line-SHORT-2")).to_contain_text(po.number)

    got = {
        line.product.sku: (line.quantity_allocated, line.quantity_backordered)
        for line in OrderLine.objects.filter(order=order).select_related("product")
    }
    assert got == {"PLENTY-1": (4, 0), "SHORT-2": (2, 3), "NONE-3": (0, 1)}
    assert order.customer_reference == "PO 4471"


def test_ship_an_allocated_order_from_its_page(
    page, log_in, staff_user, warehouse, customers, product
):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customers[0], warehouse, [(product, 3)], by=staff_user)
    assert order.status == SalesOrderStatus.READY

    log_in(page, staff_user)
    nav(page, "Orders").click()
    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_test_id("order-status")).to_have_text("Ready to ship")
    page.get_by_role("link", name="Ship", exact=True).click()
    expect(page.get_by_label("Ship now of WIDGET-1")).to_have_value("3")
    page.get_by_role("button", name="Ship these quantities").click()

    expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))
    expect(page.get_by_role("alert").filter(has_text="Shipped 3 units")).to_contain_text(
        "it is now shipped"
    )
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_role("link", name="Ship", exact=True)).to_have_count(0)
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.SHIPPED
    level = level_for(product, warehouse)
    assert (level.on_hand, level.allocated) == (2, 0)


def _posts_seen(page) -> list:
    posts: list = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    return posts


def _click_twice(page, button) -> None:
    """Two clicks a moment apart, as an impatient user makes them. (Playwright's dblclick() sends
    both clicks in one go, and Chromium folds two submissions planned in the same task into one
    request, so it would pass even with no guard at all.)"""
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # The second click comes once the first request is on its way, while its answer is awaited.
    with page.expect_request(lambda request: request.method == "POST"):
        page.mouse.click(x, y)
    page.mouse.click(x, y)


def test_double_click_on_place_order_places_one_order(
    page, log_in, staff_user, warehouse, customers, product
):
    give_stock(product, warehouse, 10, by=staff_user)
    posts = _posts_seen(page)

    log_in(page, staff_user)
    page.goto("/orders/new/")
    page.get_by_role("combobox", name="Customer").fill("Acme Hardware")
    page.get_by_role("combobox", name="Warehouse").select_option(label="MAIN – Main warehouse")
    first = page.locator("tr[data-line-row]").first
    first.get_by_placeholder("Type a SKU").fill("WIDGET-1")
    first.get_by_role("spinbutton").fill("4")
    posts.clear()
    _click_twice(page, page.get_by_role("button", name="Place order"))

    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    expect(page.get_by_role("alert").filter(has_text="placed")).to_contain_text("1 line allocated")
    page.wait_for_load_state("networkidle")
    # The page lets the form go once (the second click meets a disabled button); without that,
    # the second click sends a second request (seen when the page script is blocked).
    assert len(posts) == 1
    assert SalesOrder.objects.count() == 1
    assert level_for(product, warehouse).allocated == 4


def test_double_click_on_confirm_receipt_receives_once(
    page, log_in, staff_user, warehouse, supplier, product
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    posts = _posts_seen(page)

    log_in(page, staff_user)
    page.goto(f"/purchase-orders/{po.pk}/receive/")
    expect(page.get_by_label("WIDGET-1 arrived")).to_have_value("10")
    posts.clear()
    _click_twice(page, page.get_by_role("button", name="Confirm receipt"))

    expect(page).to_have_url(re.compile(rf"/purchase-orders/{po.pk}/$"))
    expect(page.get_by_role("alert").filter(has_text="Received")).to_contain_text(
        f"{po.number} is now received"
    )
    page.wait_for_load_state("networkidle")
    assert len(posts) == 1
    assert Shipment.objects.filter(purchase_order=po).count() == 1
    assert level_for(product, warehouse).on_hand == 10


def _today() -> dt.date:
    return timezone.localdate()


def _yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)
