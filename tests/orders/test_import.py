"""CSV import of customer orders: upload, preview with every invalid row explained, confirm.

Nothing is written while any row is invalid (unless "import only the valid rows" is ticked, and
then whole orders with an invalid row are skipped); orders are placed one by one through
order_place in file order; the confirmation uses only the rows stored on the server at upload.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from inventory.models import StockLevel
from inventory.services import stock_adjust
from orders.models import OrderLine, Priority, SalesOrder
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "order_ref,customer,warehouse,priority,sku,quantity\n"


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.BACKSTOCK_IMPORT_DIR = str(tmp_path)
    return tmp_path / "backstock-order-imports"


@pytest.fixture
def setup(staff_user, warehouse, product):
    """MAIN warehouse, WIDGET-1 with 5 on the shelf, GADGET-2 with none, two customers."""
    level = StockLevelFactory(product=product, warehouse=warehouse)
    stock_adjust(level_id=level.pk, delta=5, reason="Opening stock", by=staff_user)
    return {
        "widget": product,
        "gadget": ProductFactory(sku="GADGET-2", name="Green gadget"),
        "acme": CustomerFactory(name="Acme Hardware"),
        "bolt": CustomerFactory(name="Bolt Brothers"),
        "warehouse": warehouse,
    }


def upload(client, text, *, name="orders.csv", encoding="utf-8", **extra):
    data = text.encode(encoding) if isinstance(text, str) else text
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(reverse("orders:order-import"), {"file": file}, **extra)


def preview_url(response):
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def written():
    """Everything an import could write."""
    return (
        SalesOrder.objects.count(),
        OrderLine.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated")),
    )


GOOD = (
    HEADER
    + "A-1,Acme Hardware,MAIN,normal,WIDGET-1,4\n"
    + "A-1,acme hardware,main,normal,gadget-2,2\n"
    + "B-7,Bolt Brothers,MAIN,high,WIDGET-1,3\n"
)


# --- the happy path ------------------------------------------------------------------------------


def test_upload_preview_confirm_places_orders_in_file_order(staff_client, setup):
    url = preview_url(upload(staff_client, GOOD))
    preview = staff_client.get(url)
    assert preview.status_code == 200
    check = preview.context["check"]
    assert (len(check.rows), len(check.invalid_rows), len(check.valid_orders)) == (3, 0, 2)
    assertContains(preview, "Place 2 orders (3 lines)")
    assert not SalesOrder.objects.exists()  # the preview writes nothing

    response = staff_client.post(url, follow=True)
    assertRedirects(response, reverse("orders:order-list"))
    assertContains(response, "Imported 2 orders: 1 line allocated, 2 backordered.")
    first, second = SalesOrder.objects.order_by("pk")
    assert (first.customer, first.customer_reference) == (setup["acme"], "A-1")
    assert (second.customer, second.priority) == (setup["bolt"], Priority.HIGH)
    # File order: A-1 came first and took 4 of the 5 free widgets; B-7 got the last one even
    # though its priority is higher, because placing never takes stock out of turn.
    widget_a = first.lines.get(product=setup["widget"])
    widget_b = second.lines.get(product=setup["widget"])
    assert (widget_a.quantity_allocated, widget_a.quantity_backordered) == (4, 0)
    assert (widget_b.quantity_allocated, widget_b.quantity_backordered) == (1, 2)
    assert first.lines.get(product=setup["gadget"]).quantity_backordered == 2


def test_a_confirmed_import_cannot_be_confirmed_again(staff_client, setup):
    url = preview_url(upload(staff_client, GOOD))
    staff_client.post(url)
    assert SalesOrder.objects.count() == 2
    again = staff_client.post(url, follow=True)
    assertRedirects(again, reverse("orders:order-import"))
    assertContains(again, "no longer available")
    assert SalesOrder.objects.count() == 2


def test_uploading_the_same_file_again_is_refused_per_order(staff_client, setup):
    staff_client.post(preview_url(upload(staff_client, GOOD)))
    before = written()
    url = preview_url(upload(staff_client, GOOD))
    preview = staff_client.get(url)
    assertContains(preview, "order A-1 was already placed as SO-")
    response = staff_client.post(url, {"only_valid": "on"})
    assertContains(response, "No order in this file is valid")
    assert written() == before


def test_htmx_upload_answers_with_a_client_redirect(staff_client, setup):
    response = upload(staff_client, GOOD, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/orders/import/")
    assert staff_client.get(response["HX-Redirect"]).status_code == 200


def test_htmx_upload_error_returns_only_the_form(staff_client, setup):
    response = upload(staff_client, b"\x00\x01binary", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assertContains(response, 'id="upload-form"')
    assertContains(response, "not a CSV file")


def test_the_upload_page_explains_the_format_and_customer_rule(staff_client):
    response = staff_client.get(reverse("orders:order-import"))
    assertContains(response, "order_ref, customer, warehouse, priority, sku, quantity")
    assertContains(response, "rejected, not created")
    assertContains(response, "data-upload-progress")
    assertContains(response, "js/orders.js")


def test_semicolon_files_and_header_aliases_are_read(staff_client, setup):
    text = "Order_Ref;Customer;Warehouse;Priority;SKU;Qty\nA-1;Acme Hardware;MAIN;;WIDGET-1;2\n"
    url = preview_url(upload(staff_client, text))
    check = staff_client.get(url).context["check"]
    assert not check.invalid_rows
    assert check.orders[0].priority == Priority.NORMAL
    assert check.orders[0].lines == [(setup["widget"].pk, 2)]


# --- invalid rows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A-1,Acme Hardware,MAIN,normal,NOPE-1,1", "unknown SKU “NOPE-1”"),
        ("A-1,Acme Hardware,NOWHERE,normal,WIDGET-1,1", "unknown warehouse code “NOWHERE”"),
        ("A-1,Nobody Ltd,MAIN,normal,WIDGET-1,1", "unknown customer “Nobody Ltd”"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,0", "must be at least 1"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,-3", "cannot be negative"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,2.5", "must be a whole number"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,lots", "must be a whole number"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,1000000001", "is too large"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,", "bad quantity"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,1e999999999", "must be a whole number"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,1E3", "must be a whole number"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1," + "9" * 190, "is too large"),
        ("A-1,Acme Hardware,MAIN,asap,WIDGET-1,1", "bad priority “asap”"),
        ("A-1,Acme Hardware,MAIN,7,WIDGET-1,1", "bad priority “7”"),
        (",Acme Hardware,MAIN,normal,WIDGET-1,1", "order_ref is empty"),
        ("A-1,Acme Hardware,MAIN,normal,WIDGET-1,1,extra", "more cells than the header"),
    ],
)
def test_each_invalid_row_is_marked_with_its_reason_and_nothing_is_written(
    staff_client, setup, row, reason
):
    before = written()
    url = preview_url(
        upload(staff_client, HEADER + "B-7,Bolt Brothers,MAIN,high,WIDGET-1,1\n" + row + "\n")
    )
    preview = staff_client.get(url)
    check = preview.context["check"]
    assert [r.number for r in check.invalid_rows] == [3]
    assert reason in check.invalid_rows[0].problem
    assertContains(preview, reason)
    response = staff_client.post(url)
    assertContains(response, "1 row has problems, so nothing was imported")
    assert written() == before


def test_a_sku_twice_in_one_order_is_invalid_but_fine_across_orders(staff_client, setup):
    text = (
        HEADER
        + "A-1,Acme Hardware,MAIN,normal,WIDGET-1,1\n"
        + "A-1,Acme Hardware,MAIN,normal,widget-1,2\n"
        + "B-7,Bolt Brothers,MAIN,normal,WIDGET-1,1\n"
    )
    check = staff_client.get(preview_url(upload(staff_client, text))).context["check"]
    assert [(r.number, r.problem) for r in check.invalid_rows] == [
        (3, "SKU already on row 2 of this order")
    ]
    assert [o.order_ref for o in check.valid_orders] == ["B-7"]


def test_rows_of_one_order_must_agree_on_priority(staff_client, setup):
    text = (
        HEADER
        + "A-1,Acme Hardware,MAIN,high,WIDGET-1,1\n"
        + "A-1,Acme Hardware,MAIN,low,GADGET-2,1\n"
    )
    check = staff_client.get(preview_url(upload(staff_client, text))).context["check"]
    assert check.invalid_rows[0].problem == "priority differs from row 2 of this order"


def test_inactive_customer_product_and_warehouse_are_invalid(staff_client, setup):
    from tests.factories import WarehouseFactory

    CustomerFactory(name="Gone Ltd", is_active=False)
    ProductFactory(sku="OLD-1", is_active=False)
    WarehouseFactory(code="SHUT", is_active=False)
    text = HEADER + "A-1,Gone Ltd,SHUT,normal,OLD-1,1\n"
    check = staff_client.get(preview_url(upload(staff_client, text))).context["check"]
    problem = check.invalid_rows[0].problem
    assert "customer Gone Ltd is inactive" in problem
    assert "warehouse SHUT is inactive" in problem
    assert "SKU OLD-1 is inactive" in problem


def test_importing_only_the_valid_rows_skips_whole_orders_with_an_invalid_row(staff_client, setup):
    text = (
        HEADER
        + "A-1,Acme Hardware,MAIN,normal,WIDGET-1,1\n"
        + "A-1,Acme Hardware,MAIN,normal,NOPE-1,1\n"
        + "B-7,Bolt Brothers,MAIN,normal,WIDGET-1,2\n"
    )
    url = preview_url(upload(staff_client, text))
    preview = staff_client.get(url)
    assertContains(preview, "Import only the valid rows")
    assertContains(preview, "skipped as a whole")
    response = staff_client.post(url, {"only_valid": "on"}, follow=True)
    assertContains(response, "Imported 1 order: 1 line allocated, 0 backordered.")
    assertContains(response, "Skipped 1 order with invalid rows: A-1.")
    order = SalesOrder.objects.get()
    assert order.customer_reference == "B-7"
    assert order.lines.get().quantity_allocated == 2


def test_the_confirmation_checks_the_rows_again(staff_client, setup):
    url = preview_url(upload(staff_client, GOOD))
    staff_client.get(url)
    setup["gadget"].is_active = False
    setup["gadget"].save(update_fields=["is_active"])
    before = written()
    response = staff_client.post(url)
    assertContains(response, "SKU GADGET-2 is inactive")
    assertContains(response, "nothing was imported")
    assert written() == before


def test_an_order_refused_by_the_service_is_reported_and_the_others_still_go_in(
    staff_client, setup, monkeypatch
):
    from orders.services import imports as import_services

    real = import_services.order_place

    def refuse_a1(**kwargs):
        if kwargs["customer_reference"] == "A-1":
            raise ValidationError("Choose an active customer.", code="unknown_customer")
        return real(**kwargs)

    monkeypatch.setattr(import_services, "order_place", refuse_a1)
    response = staff_client.post(preview_url(upload(staff_client, GOOD)), follow=True)
    assertContains(
        response, "Order A-1 for Acme Hardware was not placed: Choose an active customer."
    )
    assertContains(response, "Imported 1 order")
    assert list(SalesOrder.objects.values_list("customer_reference", flat=True)) == ["B-7"]


# --- the file as a whole --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"PK\x03\x04\x00\x00binary spreadsheet", "orders.csv", "not a CSV file"),
        ("order_ref,customer\nA-1,Acmé\n".encode("latin-1"), "orders.csv", "not UTF-8"),
        (GOOD.encode(), "orders.xlsx", "Upload a .csv file"),
        (b"ref,who\nA-1,Acme\n", "orders.csv", "missing: customer, warehouse, sku, quantity"),
        (HEADER.encode(), "orders.csv", "header row but no orders"),
        (b"", "orders.csv", "empty"),
        (
            b'order_ref,customer,warehouse,priority,sku,quantity\n"A-1,Acme',
            "orders.csv",
            "could not be read as CSV",
        ),
    ],
)
def test_unreadable_files_are_refused_before_anything_is_kept(
    staff_client, setup, import_dir, content, name, message
):
    before = written()
    response = upload(staff_client, content, name=name)
    assert response.status_code == 200
    assertContains(response, message)
    assert written() == before
    assert not list(import_dir.glob("*.json")) if import_dir.exists() else True


def test_too_many_rows_are_refused(staff_client, setup, monkeypatch):
    monkeypatch.setattr("orders.imports.upload.MAX_ROWS", 2)
    response = upload(staff_client, GOOD)
    assertContains(response, "more than 2 order rows")


def test_too_large_files_are_refused(staff_client, setup, monkeypatch):
    monkeypatch.setattr("orders.imports.upload.MAX_BYTES", 50)
    response = upload(staff_client, GOOD)
    assertContains(response, "larger than")


def test_a_missing_file_is_a_form_error(staff_client):
    response = staff_client.post(reverse("orders:order-import"), {})
    assertContains(response, "This field is required")


# --- the stored upload belongs to its session -----------------------------------------------------


def test_another_users_token_is_not_usable(client, setup, staff_user, manager_user):
    client.force_login(staff_user)
    url = preview_url(upload(client, GOOD))
    client.force_login(manager_user)
    response = client.get(url, follow=True)
    assertContains(response, "no longer available")
    client.post(url)
    assert not SalesOrder.objects.exists()


@pytest.mark.parametrize("token", ["nope", "x" * 32, "../../etc/passwd"])
def test_unknown_or_garbage_tokens_redirect_with_a_message(staff_client, token):
    response = staff_client.post(f"/orders/import/{token}/", follow=True)
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assertContains(response, "no longer available")
    assert not SalesOrder.objects.exists()


def test_rows_posted_by_the_browser_are_ignored(staff_client, setup):
    url = preview_url(upload(staff_client, HEADER + "A-1,Acme Hardware,MAIN,normal,WIDGET-1,1\n"))
    staff_client.post(
        url, {"rows": "A-1,Acme Hardware,MAIN,normal,WIDGET-1,999", "quantity": "999"}
    )
    assert OrderLine.objects.get().quantity_ordered == 1


def test_users_without_the_role_cannot_import(client, setup):
    client.force_login(UserFactory(username="no-role"))
    assert upload(client, GOOD).status_code == 403
    assert not SalesOrder.objects.exists()


def test_preview_page_hides_the_confirm_button_when_nothing_is_valid(staff_client, setup):
    url = preview_url(upload(staff_client, HEADER + "A-1,Nobody,MAIN,normal,WIDGET-1,1\n"))
    response = staff_client.get(url)
    assertNotContains(response, "Place 0 orders")
    assertContains(response, "Upload another file")
