"""Typing a customer or supplier in Chromium: part of a name brings suggestions into the field's
datalist (htmx, under the strict CSP), picking one fills in the whole name, and the form is
placed for that record."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import SalesOrder
from suppliers.models import PurchaseOrder
from tests.factories import ProductFactory, SupplierFactory, SupplierProductFactory
from tests.helpers import give_stock

pytestmark = pytest.mark.django_db(transaction=True)


def _csp_violations(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_typing_part_of_a_customer_name_offers_it_and_the_order_is_placed_for_it(
    page, log_in, staff_user, warehouse, customers, product
):
    give_stock(product, warehouse, 10, by=staff_user)
    violations = _csp_violations(page)
    log_in(page, staff_user)
    page.goto("/orders/new/")
    field = page.get_by_role("combobox", name="Customer")
    field.press_sequentially("bir", delay=30)

    suggestions = page.locator("#customer-options option")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_have_attribute("value", "Birch & Sons")
    birch = customers[1]
    expect(suggestions.first).to_have_text(re.compile(rf"^#{birch.pk}\b"))

    # Picking the suggestion puts its whole name in the field.
    field.fill("Birch & Sons")
    page.get_by_role("combobox", name="Warehouse").select_option(label="MAIN – Main warehouse")
    first = page.locator("tr[data-line-row]").first
    first.get_by_placeholder("Type a SKU").fill("WIDGET-1")
    first.get_by_role("spinbutton").fill("2")
    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    assert SalesOrder.objects.get().customer == birch
    assert violations == []


def test_a_partial_customer_name_is_a_clear_error_on_the_form(
    page, log_in, staff_user, warehouse, customers, product
):
    log_in(page, staff_user)
    page.goto("/orders/new/")
    page.get_by_role("combobox", name="Customer").fill("Cob")
    page.get_by_role("combobox", name="Warehouse").select_option(label="MAIN – Main warehouse")
    first = page.locator("tr[data-line-row]").first
    first.get_by_placeholder("Type a SKU").fill("WIDGET-1")
    first.get_by_role("spinbutton").fill("2")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_text("“Cob” is not the whole name of a customer")).to_be_visible()
    expect(page.get_by_role("combobox", name="Customer")).to_have_value("Cob")
    assert not SalesOrder.objects.exists()


def test_typing_part_of_a_supplier_name_offers_it_for_a_purchase_order(
    page, log_in, manager_user, warehouse, supplier
):
    SupplierFactory(name="Southern Parts")
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="BOLT-9"))
    violations = _csp_violations(page)
    log_in(page, manager_user)
    page.goto("/purchase-orders/new/")
    field = page.get_by_role("combobox", name="Supplier")
    field.press_sequentially("north", delay=30)

    suggestions = page.locator("#supplier-options option")
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_have_attribute("value", "Northwind Supply")

    field.fill("Northwind Supply")
    page.get_by_role("combobox", name="Warehouse").select_option(label="MAIN – Main warehouse")
    line = page.get_by_test_id("po-lines").get_by_role("row").nth(1)
    line.get_by_role("textbox").first.fill("BOLT-9")
    line.get_by_role("spinbutton").first.fill("10")
    page.get_by_role("button", name="Create draft").click()

    expect(page).to_have_url(re.compile(r"/purchase-orders/\d+/$"))
    assert PurchaseOrder.objects.get().supplier == supplier
    assert violations == []
