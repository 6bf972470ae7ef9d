"""Product CSV import: upload, a preview that explains every bad row, and a confirmation that
writes only when the user allows it — nothing is written while a row is invalid unless the user
ticks "import only the valid rows"."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from inventory.models import Product
from suppliers import imports
from suppliers.models import Supplier, SupplierProduct
from suppliers.services.product_import import ProductInput, TermInput, product_import
from tests.factories import ProductFactory, SupplierFactory, SupplierProductFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "sku,name,unit,supplier,supplier_sku,unit_cost,lead_time_days,min_order_qty,pack_size,preferred"
)


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.BACKSTOCK_IMPORT_DIR = str(tmp_path / "imports")
    return tmp_path / "imports"


@pytest.fixture
def suppliers(db):
    return SupplierFactory(name="Acme Supplies"), SupplierFactory(name="Bolt & Co")


def csv_file(text: str | bytes, name: str = "products.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, text, *, name="products.csv", **extra):
    return client.post(reverse("suppliers:product-import"), {"file": csv_file(text, name)}, **extra)


def preview_url(response) -> str:
    location = response["Location"] if response.status_code == 302 else response["HX-Redirect"]
    assert location.startswith("/products/import/")
    return location


def catalogue() -> tuple:
    """Everything an import could change, to prove a refused import changed nothing."""
    return (
        list(Product.objects.order_by("pk").values_list("pk", "sku", "name", "unit")),
        list(
            SupplierProduct.objects.order_by("pk").values_list(
                "pk",
                "supplier_id",
                "product_id",
                "supplier_sku",
                "unit_cost",
                "lead_time_days",
                "min_order_qty",
                "pack_size",
                "is_preferred",
            )
        ),
    )


def problems_of(response) -> dict[int, str]:
    return {row.line: " ".join(row.errors) for row in response.context["preview"].invalid_rows}


# --- the happy path --------------------------------------------------------------------------


def test_upload_preview_confirm_creates_and_updates_products_and_terms(manager_client, suppliers):
    acme, bolt = suppliers
    existing = ProductFactory(sku="wid-1", name="Old name", unit="each")
    SupplierProductFactory(supplier=acme, product=existing, is_preferred=True, lead_time_days=9)
    text = "\n".join(
        [
            HEADER,
            "WID-1,Widget one,box,Bolt & Co,B-1,3.10,5,10,5,yes",
            "NEW-1,New gadget,,Acme Supplies,AC-N1,12.50,14,1,1,no",
            "NEW-1,New gadget,,bolt & co,B-N1,11.90,21,24,12,yes",
            "PLAIN-1,No supplier yet,each,,,,,,,",
        ]
    )
    response = upload(manager_client, text)
    url = preview_url(response)

    preview = manager_client.get(url)
    assert preview.status_code == 200
    summary = preview.context["summary"]
    assert (summary["rows"], summary["valid"], summary["invalid"]) == (4, 4, 0)
    assert (summary["products_new"], summary["products_existing"], summary["terms"]) == (2, 1, 3)
    assertContains(preview, "Import 4 valid rows")
    assert catalogue()[0] == [(existing.pk, "wid-1", "Old name", "each")]  # nothing written yet

    done = manager_client.post(url, {})
    assertRedirects(done, reverse("suppliers:product-import"), fetch_redirect_response=False)
    page = manager_client.get(reverse("suppliers:product-import"))
    assertContains(page, "2 products created, 1 updated")
    assertContains(page, "3 supply terms created")

    existing.refresh_from_db()
    assert (existing.sku, existing.name, existing.unit) == ("wid-1", "Widget one", "box")
    # Bolt is now the preferred supplier of WID-1; Acme's flag was taken off, its terms kept.
    terms = {t.supplier.name: t for t in existing.supply_terms.select_related("supplier")}
    assert terms["Bolt & Co"].is_preferred
    assert not terms["Acme Supplies"].is_preferred
    assert terms["Acme Supplies"].lead_time_days == 9
    new = Product.objects.get(sku="NEW-1")
    assert new.unit == "each"
    new_terms = {t.supplier_id: t for t in new.supply_terms.all()}
    assert new_terms[bolt.pk].is_preferred
    assert not new_terms[acme.pk].is_preferred
    assert (new_terms[bolt.pk].unit_cost, new_terms[bolt.pk].pack_size) == (Decimal("11.90"), 12)
    assert Product.objects.get(sku="PLAIN-1").supply_terms.count() == 0
    # The upload is gone: confirming twice cannot import twice.
    again = manager_client.post(url, {})
    assertRedirects(again, reverse("suppliers:product-import"), fetch_redirect_response=False)


def test_blank_term_cells_keep_existing_values(manager_client, suppliers):
    acme, _ = suppliers
    product = ProductFactory(sku="KEEP-1", name="Keeper")
    SupplierProductFactory(
        supplier=acme, product=product, unit_cost=Decimal("7.00"), lead_time_days=30, pack_size=6
    )
    url = preview_url(upload(manager_client, f"{HEADER}\nKEEP-1,Keeper,,Acme Supplies,,8.25,,,,"))
    manager_client.post(url, {})
    term = SupplierProduct.objects.get(product=product, supplier=acme)
    assert (term.unit_cost, term.lead_time_days, term.pack_size) == (Decimal("8.25"), 30, 6)


def test_htmx_upload_sends_the_browser_to_the_preview(manager_client, suppliers):
    response = upload(
        manager_client, f"{HEADER}\nA-1,Thing,,,,,,,,", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/products/import/")


def test_upload_page_has_a_progress_bar_wired_to_htmx(manager_client):
    page = manager_client.get(reverse("suppliers:product-import"))
    assertContains(page, 'hx-encoding="multipart/form-data"')
    assertContains(page, "<progress")
    assertContains(page, "js/inventory.js")


def test_semicolon_separated_files_with_a_bom_are_read(manager_client, suppliers):
    text = "\ufeff" + HEADER.replace(",", ";") + "\nSEMI-1;Semicolon;each;Acme Supplies;;1,5;;;;"
    url = preview_url(upload(manager_client, text))
    preview = manager_client.get(url)
    # "1,5" is not a number we accept: the row says so instead of guessing.
    assert "not a number like 12.50" in problems_of(preview)[2]
    text = "\ufeff" + HEADER.replace(",", ";") + "\nSEMI-1;Semicolon;each;Acme Supplies;;1.5;;;;"
    url = preview_url(upload(manager_client, text))
    manager_client.post(url, {})
    assert SupplierProduct.objects.get(product__sku="SEMI-1").unit_cost == Decimal("1.50")


# --- invalid rows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("BAD-1,Thing,,Nobody Ltd,,,,,,", "Unknown supplier “Nobody Ltd”"),
        (",Thing,,,,,,,,", "SKU is missing."),
        ("BAD-1,,,,,,,,,", "Name is missing."),
        ("BAD-1,Thing,,Acme Supplies,,abc,,,,", "not a number like 12.50"),
        ("BAD-1,Thing,,Acme Supplies,,-1,,,,", "between 0 and 1,000,000"),
        ("BAD-1,Thing,,Acme Supplies,,2000000,,,,", "between 0 and 1,000,000"),
        ("BAD-1,Thing,,Acme Supplies,,1.234,,,,", "more than two decimals"),
        ("BAD-1,Thing,,Acme Supplies,,NaN,,,,", "between 0 and 1,000,000"),
        ("BAD-1,Thing,,Acme Supplies,,,x,,,", "lead time (days) must be a whole number"),
        ("BAD-1,Thing,,Acme Supplies,,,-3,,,", "lead time (days) cannot be negative"),
        ("BAD-1,Thing,,Acme Supplies,,,9999,,,", "at most 3,650"),
        ("BAD-1,Thing,,Acme Supplies,,,,0,,", "minimum order quantity must be at least 1"),
        ("BAD-1,Thing,,Acme Supplies,,,,2000000000,,", "too large"),
        ("BAD-1,Thing,,Acme Supplies,,,,,1.5,", "pack size must be a whole number"),
        ("BAD-1,Thing,,Acme Supplies,,,,,,maybe", "Preferred must be yes or no"),
        ("BAD-1,Thing,,,AC-1,,,,,", "given without a supplier"),
        ("X" * 41 + ",Thing,,,,,,,,", "SKU is longer than 40 characters."),
        ("BAD-1," + "N" * 201 + ",,,,,,,,", "Name is longer than 200 characters."),
        ("BAD-1,Thing," + "u" * 21 + ",,,,,,,", "Unit is longer than 20 characters."),
        ("BAD-1,Thing,,Acme Supplies," + "s" * 61 + ",,,,,", "Supplier SKU is longer than 60"),
        ("BAD-1,Thing,,,,,,,,,extra", "the header names 10 columns"),
        ('BAD-1,"Tab\tname",,,,,,,,', "control characters"),
    ],
)
def test_each_bad_row_is_marked_with_its_reason_and_nothing_is_written(
    manager_client, suppliers, row, problem
):
    text = f"{HEADER}\nGOOD-1,Good row,,,,,,,,\n{row}"
    url = preview_url(upload(manager_client, text))
    preview = manager_client.get(url)
    assert preview.status_code == 200
    problems = problems_of(preview)
    assert list(problems) == [3]
    assert problem in problems[3]
    assertContains(preview, problem.replace("“", "&ldquo;").split("&")[0][:15])
    before = catalogue()
    response = manager_client.post(url, {})
    assertContains(response, "1 row is invalid, so nothing was imported")
    assert catalogue() == before


def test_inactive_supplier_is_refused(manager_client):
    Supplier.objects.create(name="Gone Ltd", is_active=False)
    url = preview_url(upload(manager_client, f"{HEADER}\nG-1,Thing,,Gone Ltd,,,,,,"))
    assert "is inactive" in problems_of(manager_client.get(url))[2]


@pytest.mark.parametrize(
    ("rows", "problem", "lines"),
    [
        (
            ["DUP-1,First name,,,,,,,,", "dup-1,Second name,,,,,,,,"],
            "has different names on lines 2, 3",
            [2, 3],
        ),
        (
            ["DUP-1,Thing,box,,,,,,,", "DUP-1,Thing,each,,,,,,,"],
            "has different units",
            [2, 3],
        ),
        (
            [
                "DUP-1,Thing,,Acme Supplies,,1.00,,,,",
                "DUP-1,Thing,,Acme Supplies,,2.00,,,,",
            ],
            "different terms from the same supplier",
            [2, 3],
        ),
        (
            [
                "DUP-1,Thing,,Acme Supplies,,,,,,yes",
                "DUP-1,Thing,,Bolt & Co,,,,,,yes",
            ],
            "more than one preferred supplier",
            [2, 3],
        ),
    ],
)
def test_conflicting_rows_are_all_invalid(manager_client, suppliers, rows, problem, lines):
    url = preview_url(upload(manager_client, "\n".join([HEADER, *rows, "OK-1,Fine,,,,,,,,"])))
    problems = problems_of(manager_client.get(url))
    assert sorted(problems) == lines
    assert all(problem in text for text in problems.values())


def test_identical_repeated_rows_are_valid_and_written_once(manager_client, suppliers):
    row = "REP-1,Repeated,,Acme Supplies,AC-R,1.00,3,1,1,yes"
    url = preview_url(upload(manager_client, "\n".join([HEADER, row, row])))
    preview = manager_client.get(url)
    assert problems_of(preview) == {}
    assert preview.context["summary"]["duplicates"] == 1
    assertContains(preview, "repeats line 2")
    manager_client.post(url, {})
    assert SupplierProduct.objects.filter(product__sku="REP-1").count() == 1


def test_import_only_the_valid_rows_when_ticked(manager_client, suppliers):
    text = "\n".join(
        [HEADER, "OK-1,Fine,,Acme Supplies,,2.00,,,,", "BAD-1,Thing,,Nobody Ltd,,,,,,"]
    )
    url = preview_url(upload(manager_client, text))
    response = manager_client.post(url, {"only_valid": "on"})
    assert response.status_code == 302
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]
    page = manager_client.get(reverse("suppliers:product-import"))
    assertContains(page, "1 invalid rows left out")


def test_rows_are_checked_again_at_confirmation(manager_client, suppliers):
    """A supplier deleted between preview and confirm makes its rows invalid: no blind write."""
    acme, _ = suppliers
    url = preview_url(upload(manager_client, f"{HEADER}\nLATE-1,Late,,Acme Supplies,,,,,,"))
    assert problems_of(manager_client.get(url)) == {}
    acme.delete()
    before = catalogue()
    response = manager_client.post(url, {})
    assertContains(response, "1 row is invalid, so nothing was imported")
    assert catalogue() == before


def test_re_posted_row_data_is_ignored(manager_client, suppliers):
    url = preview_url(upload(manager_client, f"{HEADER}\nREAL-1,Real,,,,,,,,"))
    manager_client.post(url, {"sku": "FAKE-1", "name": "Injected", "rows": "FAKE-1,Injected"})
    assert list(Product.objects.values_list("sku", "name")) == [("REAL-1", "Real")]


def test_problem_rows_can_be_downloaded_as_csv(manager_client, suppliers):
    text = "\n".join(
        [HEADER, "OK-1,Fine,,,,,,,,", "BAD-1,Thing,,Nobody Ltd,,,,,,", ",NoSku,,,,,,,,"]
    )
    url = preview_url(upload(manager_client, text))
    response = manager_client.get(url, {"_export": "errors"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["line", "problems", "sku"]
    assert [(r[0], r[2]) for r in rows[1:]] == [("3", "BAD-1"), ("4", "")]
    assert "Unknown supplier" in rows[1][1]


def test_problem_rows_download_writes_formula_like_cells_as_text(manager_client, suppliers):
    evil = '=HYPERLINK("http://evil.example/","Click")'
    text = "\n".join([HEADER, f'BAD-2,"{evil.replace(chr(34), chr(34) * 2)}",,Nobody Ltd,,,,,,'])
    url = preview_url(upload(manager_client, text))
    response = manager_client.get(url, {"_export": "errors"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = {cell for row in rows[1:] for cell in row}
    assert "'" + evil in cells
    assert evil not in cells


# --- bad files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("café,name\n".encode("latin-1") + b"x,y\n", "not UTF-8 text"),
        (
            f"{HEADER}\nA-1,Caf\xe9,,,,,,,,".encode("latin-1"),
            "not UTF-8 text (first bad character on line 2)",
        ),
        (b"PK\x03\x04" + b"\x00" * 200, "This is a spreadsheet, not a CSV file."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary data"),
        (b"name,unit\nThing,each\n", "The header row has no sku column."),
        (b"sku,name,sku\nA,B,C\n", "names a column twice"),
        (f"{HEADER}\n".encode(), "no data rows"),
        (b"\n\n", "The file is empty"),
        (f'{HEADER}\n"A-1,unterminated'.encode() + b"x" * 200_000, "not valid CSV"),
    ],
)
def test_bad_files_are_explained_and_cannot_be_confirmed(manager_client, suppliers, data, problem):
    url = preview_url(upload(manager_client, data))
    preview = manager_client.get(url)
    assert preview.status_code == 200
    assert any(problem in error for error in preview.context["preview"].file_errors), (
        preview.context["preview"].file_errors
    )
    assertNotContains(preview, "valid row")
    before = catalogue()
    response = manager_client.post(url, {"only_valid": "on"})
    assertContains(response, "There are no valid rows to import")
    assert catalogue() == before


def test_too_many_rows_are_refused(manager_client):
    rows = "\n".join(f"S-{i},Thing {i},,,,,,,," for i in range(imports.MAX_IMPORT_ROWS + 1))
    url = preview_url(upload(manager_client, f"{HEADER}\n{rows}"))
    preview = manager_client.get(url)
    assert preview.context["preview"].file_errors == [
        "The file has more than 50,000 rows. Split it into smaller files."
    ]
    assert Product.objects.count() == 0


def test_empty_and_too_big_uploads_are_refused_on_the_form(manager_client, settings):
    response = upload(manager_client, b"")
    assert response.status_code == 200
    assertContains(response, "The submitted file is empty.")
    settings.BACKSTOCK_IMPORT_MAX_BYTES = 1_000_000
    response = upload(manager_client, b"sku,name\n" + b"A,B\n" * 300_000)
    assertContains(response, "the limit is 1 MB")
    response = manager_client.post(reverse("suppliers:product-import"), {})
    assertContains(response, "This field is required.")
    response = upload(manager_client, b"", headers={"HX-Request": "true"})
    assertNotContains(response, "<html")
    assertContains(response, 'id="import-upload"')


# --- tokens and permissions ------------------------------------------------------------------


@pytest.mark.parametrize("token", ["nope", "../../etc/passwd", "a" * 40, "x" * 300])
def test_unknown_tokens_go_back_to_the_upload_page(manager_client, token):
    url = reverse("suppliers:product-import") + f"{token}/"
    for method in ("get", "post"):
        response = getattr(manager_client, method)(url)
        if response.status_code == 404:  # a token the URL pattern itself refuses
            assert "/" in token
            continue
        assertRedirects(
            response, reverse("suppliers:product-import"), fetch_redirect_response=False
        )
        page = manager_client.get(reverse("suppliers:product-import"))
        assertContains(page, "That upload has expired or is not yours")


def test_another_users_upload_cannot_be_seen_or_confirmed(client, manager_user, suppliers):
    client.force_login(manager_user)
    url = preview_url(upload(client, f"{HEADER}\nMINE-1,Mine,,,,,,,,"))
    other = UserFactory(username="other-manager")
    other.groups.set(manager_user.groups.all())
    client.force_login(other)
    assertRedirects(
        client.get(url), reverse("suppliers:product-import"), fetch_redirect_response=False
    )
    client.post(url, {})
    assert Product.objects.count() == 0


def test_import_needs_the_add_product_permission(client, staff_user, manager_user):
    url = reverse("suppliers:product-import")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(staff_user)
    assert client.get(url).status_code == 403
    assert client.post(url, {"file": csv_file(f"{HEADER}\nA,B,,,,,,,,")}).status_code == 403
    assert client.get(url + "x" * 43 + "/").status_code == 403
    assert Product.objects.count() == 0


# --- the service -----------------------------------------------------------------------------


def test_product_import_writes_in_batches_not_row_by_row(manager_user, suppliers):
    acme, _ = suppliers
    products = [ProductInput(sku=f"B-{i:04d}", name=f"Bulk {i}") for i in range(1200)]
    terms = [
        TermInput(sku=f"B-{i:04d}", supplier_id=acme.pk, unit_cost=Decimal("1.00"))
        for i in range(1200)
    ]
    with CaptureQueriesContext(connection) as queries:
        result = product_import(products=products, terms=terms, by=manager_user)
    assert (result.products_created, result.terms_created) == (1200, 1200)
    assert len(queries.captured_queries) < 40


@pytest.mark.parametrize(
    ("products", "terms", "code"),
    [
        ([], [], "nothing_to_import"),
        ([ProductInput("A", "x"), ProductInput("a", "y")], [], "duplicate_sku"),
        ([ProductInput("", "x")], [], "required"),
        ([ProductInput("A", "x")], [TermInput("B", 1)], "unknown_sku"),
        ([ProductInput("A", "x")], [TermInput("A", 999999)], "unknown_supplier"),
    ],
)
def test_product_import_refuses_bad_input_itself(manager_user, products, terms, code):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        product_import(products=products, terms=terms, by=manager_user)
    assert excinfo.value.code == code
    assert Product.objects.count() == 0
