"""The audit trail in Chromium: a manager changes a product's stock and safety stock, opens the
product's history from the product page and reads who did what, newest first; staff have no
history link and are refused the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.helpers import give_stock, place

pytestmark = pytest.mark.django_db(transaction=True)


def history_rows(page) -> list[list[str]]:
    """(who, what, where / document, quantity, reason) of each history row, top to bottom."""
    rows = page.get_by_test_id("history").locator("tbody tr")
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()[1:]] for row in rows.all()
    ]


def test_manager_reads_the_history_of_what_they_just_changed(
    page, log_in, manager_user, staff_user, warehouse, product
):
    give_stock(product, warehouse, 10, by=staff_user, reason="Opening stock")
    log_in(page, manager_user)
    page.goto(reverse("inventory:product-detail", args=[product.pk]))

    page.get_by_role("link", name="Adjust / count").click()
    page.get_by_label("Remove stock (damaged, lost)").check()
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Reason").fill("Pallet dropped in aisle 3")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/products/{product.pk}/$"))
    expect(page.get_by_text("WIDGET-1 at MAIN: -2, on hand is now 8.")).to_be_visible()

    # Until htmx has started (the scripts at the end of the page), the safety stock link is a
    # plain link to the full form page.
    page.wait_for_load_state("load")
    page.get_by_title("Change the safety stock of WIDGET-1 at MAIN").click()
    page.get_by_label("Safety stock of WIDGET-1 at MAIN").fill("6")
    page.get_by_label("Reason", exact=True).fill("Peak season")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_title("Change the safety stock of WIDGET-1 at MAIN")).to_have_text("6")

    page.get_by_role("link", name="History", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/products/{product.pk}/history/$"))
    expect(page.get_by_role("heading", name="History of")).to_be_visible()
    expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(3)
    assert history_rows(page) == [
        ["manager-user", "Safety stock set", "MAIN: 0 → 6", "6", "Peak season"],
        ["manager-user", "Adjusted", "MAIN", "-2", "Pallet dropped in aisle 3"],
        ["staff-user", "Adjusted", "MAIN", "10", "Opening stock"],
    ]

    # The breadcrumb leads back to the product.
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/products/{product.pk}/$"))


def test_staff_see_no_history_link_and_are_refused_the_page(
    page, log_in, staff_user, warehouse, product, customers
):
    give_stock(product, warehouse, 5, by=staff_user)
    order = place(customers[0], warehouse, [(product, 1)], by=staff_user)
    log_in(page, staff_user)

    for detail, history, pk in (
        ("inventory:product-detail", "inventory:product-history", product.pk),
        ("orders:order-detail", "orders:order-history", order.pk),
    ):
        response = page.goto(reverse(detail, args=[pk]))
        assert response.status == 200
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("link", name="History", exact=True)).to_have_count(0)
        expect(page.get_by_test_id("history-link")).to_have_count(0)

        response = page.goto(reverse(history, args=[pk]))
        assert response.status == 403
        expect(page.get_by_test_id("history")).to_have_count(0)
