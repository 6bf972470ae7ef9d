"""common.exports: every CSV the app writes goes through one writer that neutralises formulas."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from common.exports import csv_cell, csv_pieces
from tests.factories import CustomerFactory, ProductFactory, SupplierFactory
from tests.helpers import csv_rows, give_stock, place, sent_po
from tests.orders.test_release_detail import released

HYPERLINK = '=HYPERLINK("http://evil.example/","Click")'


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        # Numbers written as text stay numbers.
        ("-5", "-5"),
        ("+12", "+12"),
        ("-3.25", "-3.25"),
        # Ordinary text, and text with a formula character further in, is left alone.
        ("Acme = best", "Acme = best"),
        ("", ""),
        ("SO-000012", "SO-000012"),
    ],
)
def test_a_text_cell_is_neutralised_only_when_a_spreadsheet_would_read_a_formula(value, written):
    assert csv_cell(value) == written


@pytest.mark.parametrize("value", [-5, 0, 7, Decimal("-1.50"), None, 2.5])
def test_cells_that_are_not_text_are_kept_as_they_are(value):
    assert csv_cell(value) is value


def test_pieces_hold_every_row_once_in_order_with_each_cell_neutralised():
    rows = [[n, f"=A{n}", -n] for n in range(1, 1203)]
    text = "".join(csv_pieces(rows))
    read = list(csv.reader(io.StringIO(text)))
    assert len(read) == 1202
    assert read[0] == ["1", "'=A1", "-1"]
    assert read[-1] == ["1202", "'=A1202", "-1202"]


@pytest.fixture
def poisoned(staff_user, warehouse):
    """A product, a customer and a reference that a spreadsheet would run as formulas, on an
    order partly waiting for stock."""
    product = ProductFactory(sku="EVIL-1", name=HYPERLINK)
    customer = CustomerFactory(name="+cmd|' /C calc'!A0")
    give_stock(product, warehouse, 2, by=staff_user)
    order = place(customer, warehouse, [(product, 5)], by=staff_user, ref="@SUM(1+1)")
    return {"product": product, "customer": customer, "order": order}


def cells(response) -> set[str]:
    return {cell for row in csv_rows(response) for cell in row}


def test_the_stock_export_writes_the_product_name_as_text(staff_client, poisoned):
    found = cells(staff_client.get(reverse("inventory:stock-list"), {"_export": "csv"}))
    assert "'" + HYPERLINK in found
    assert HYPERLINK not in found


def test_the_orders_export_writes_customer_and_reference_as_text(staff_client, poisoned):
    found = cells(staff_client.get(reverse("orders:order-list"), {"_export": "csv"}))
    assert {"'+cmd|' /C calc'!A0", "'@SUM(1+1)"} <= found
    assert not {"+cmd|' /C calc'!A0", "@SUM(1+1)"} & found


def test_the_backorders_export_writes_names_as_text_and_keeps_quantities_numbers(
    staff_client, poisoned
):
    rows = csv_rows(staff_client.get(reverse("orders:backorder-list"), {"_export": "csv"}))
    found = {cell for row in rows for cell in row}
    assert "'+cmd|' /C calc'!A0" in found
    assert "+cmd|' /C calc'!A0" not in found
    # The waiting quantity is still a plain number a spreadsheet can add up.
    (row,) = rows[1:]
    assert "3" in row
    assert not any(cell.startswith("'") and cell[1:].lstrip("+-").isdigit() for cell in row)


def test_the_reorder_export_writes_the_product_name_as_text(manager_client, poisoned):
    found = cells(manager_client.get(reverse("planning:reorder-dashboard"), {"_export": "csv"}))
    assert "'" + HYPERLINK in found
    assert HYPERLINK not in found


@pytest.fixture
def poisoned_supplier(manager_user, warehouse):
    """A supplier whose name a spreadsheet would run, with a sent purchase order."""
    supplier = SupplierFactory(name="=1+cmd|' /C calc'!A0")
    sent_po(supplier, warehouse, [(ProductFactory(), 4)], by=manager_user)
    return supplier


@pytest.mark.parametrize(
    "url_name",
    ["suppliers:supplier-list", "suppliers:purchaseorder-list", "suppliers:receiving-list"],
)
def test_the_purchasing_exports_write_the_supplier_name_as_text(
    manager_client, poisoned_supplier, url_name
):
    found = cells(manager_client.get(reverse(url_name), {"_export": "csv"}))
    assert "'" + poisoned_supplier.name in found
    assert poisoned_supplier.name not in found


def test_the_release_export_writes_customer_and_product_names_as_text(
    staff_client, staff_user, warehouse
):
    product = ProductFactory(name=HYPERLINK)
    release, (order,) = released(warehouse, staff_user, orders=1, products=[product])
    order.customer.name = "@SUM(1+1)"
    order.customer.save(update_fields=["name"])

    rows = csv_rows(
        staff_client.get(reverse("orders:release-detail", args=[release.pk]), {"_export": "csv"})
    )

    (row,) = rows[1:]
    assert {"'" + HYPERLINK, "'@SUM(1+1)"} <= set(row)
    # The released quantity stays a number.
    assert "2" in row
