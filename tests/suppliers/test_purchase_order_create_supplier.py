"""The new purchase order's supplier: typed by name or number with suggestions from a lookup view,
never a list of every supplier, so the page costs the same whatever the number of suppliers."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from suppliers.models import PurchaseOrder
from tests.factories import ProductFactory, SupplierFactory, SupplierProductFactory, UserFactory

pytestmark = pytest.mark.django_db

OPTION = re.compile(r'<option value="([^"]*)">([^<]*)</option>')


def lookup(client, typed):
    return client.get(reverse("suppliers:supplier-lookup"), {"supplier": typed})


def options(response) -> list[tuple[str, str]]:
    return OPTION.findall(response.content.decode())


def post_purchase_order(client, supplier_text, warehouse):
    token = (
        client.get(reverse("suppliers:purchaseorder-create")).context["form"]["once_token"].value()
    )
    return client.post(
        reverse("suppliers:purchaseorder-create"),
        {
            "once_token": token,
            "supplier": supplier_text,
            "warehouse": warehouse.pk,
            "expected_date": "",
            "notes": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-sku": "BOLT-9",
            "lines-0-quantity": "10",
            "lines-0-unit_cost": "",
        },
    )


@pytest.fixture
def northwind(db):
    supplier = SupplierFactory(name="Northwind Supply", email="orders@northwind.example")
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="BOLT-9"))
    return supplier


def test_the_supplier_is_a_labelled_text_box_with_suggestions_not_a_list(manager_client):
    SupplierFactory.create_batch(3)
    html = manager_client.get(reverse("suppliers:purchaseorder-create")).content.decode()
    assert '<select name="supplier"' not in html
    field = re.search(r'<input[^>]*name="supplier"[^>]*>', html)[0]
    assert 'list="supplier-options"' in field
    assert f'hx-get="{reverse("suppliers:supplier-lookup")}"' in field
    assert re.search(r'<label[^>]*for="id_supplier"[^>]*>\s*Supplier', html)
    assert '<datalist id="supplier-options"></datalist>' in html
    # The warehouse stays a list: there are only a few.
    assert '<select name="warehouse"' in html


# The new purchase order page, whatever the number of suppliers:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's permissions
#  4. SELECT the user's groups' permissions
#  5. SELECT the active warehouses (the warehouse <select>)
# With ?supplier=<id> (the supplier page's "New purchase order"), 6: SELECT that active supplier.
@pytest.mark.parametrize("count", [3, 60])
def test_the_page_costs_the_same_queries_whatever_the_number_of_suppliers(
    manager_client, warehouse, count, django_assert_num_queries
):
    suppliers = SupplierFactory.create_batch(count)
    url = reverse("suppliers:purchaseorder-create")
    with django_assert_num_queries(5):
        response = manager_client.get(url)
    assert response.status_code == 200
    assert suppliers[-1].name not in response.content.decode()
    with django_assert_num_queries(6):
        response = manager_client.get(url, {"supplier": suppliers[-1].pk})
    assertContains(response, f'value="{suppliers[-1].name}"')


def test_the_supplier_page_links_to_a_purchase_order_with_the_supplier_filled_in(
    manager_client, northwind
):
    detail = manager_client.get(reverse("suppliers:supplier-detail", args=[northwind.pk]))
    link = f"{reverse('suppliers:purchaseorder-create')}?supplier={northwind.pk}"
    assertContains(detail, link)
    response = manager_client.get(link)
    assert response.context["form"]["supplier"].value() == "Northwind Supply"


@pytest.mark.parametrize("typed", ["northwind supply", "number", "#number"])
def test_a_purchase_order_is_created_for_the_supplier_typed_by_name_or_number(
    manager_client, warehouse, northwind, typed
):
    SupplierFactory(name="Northwind Freight")
    response = post_purchase_order(
        manager_client, typed.replace("number", str(northwind.pk)), warehouse
    )
    assert response.status_code == 302
    assert PurchaseOrder.objects.get().supplier == northwind


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("northwind", "matches several suppliers"),
        ("Freight", "did you mean Northwind Freight"),
        ("Southwind", "No active supplier is called “Southwind”."),
        ("<b>x</b>", "No active supplier is called “&lt;b&gt;x&lt;/b&gt;”."),
        ("#999999", "No supplier has the number 999999."),
    ],
)
def test_an_unresolved_supplier_is_a_form_error_and_nothing_is_created(
    manager_client, warehouse, northwind, typed, message
):
    SupplierFactory(name="Northwind Freight")
    response = post_purchase_order(manager_client, typed, warehouse)
    assert response.status_code == 200
    assertContains(response, message)
    assertNotContains(response, "<b>x</b>")
    assert not PurchaseOrder.objects.exists()


def test_the_lookup_suggests_active_suppliers_by_name_or_number(manager_client, northwind):
    SupplierFactory(name="Northwind Old", is_active=False)
    SupplierFactory(name="Acme Supply", email="")
    assert options(lookup(manager_client, "north")) == [
        ("Northwind Supply", f"#{northwind.pk} · orders@northwind.example")
    ]
    assert options(lookup(manager_client, str(northwind.pk)))[0][0] == "Northwind Supply"


def test_the_lookup_escapes_names_and_sends_at_most_twenty(manager_client):
    SupplierFactory(name="<img src=x onerror=alert(1)> Supply")
    SupplierFactory.create_batch(25)
    body = lookup(manager_client, "<img").content.decode()
    assert "<img" not in body
    assert "&lt;img src=x onerror=alert(1)&gt; Supply" in body
    assert len(options(lookup(manager_client, "supplier"))) == 20


def test_the_lookup_is_for_those_who_may_create_purchase_orders(client, staff_user):
    SupplierFactory(name="Northwind Supply")
    assert lookup(client, "north").status_code == 302
    client.force_login(staff_user)
    assert lookup(client, "north").status_code == 403
    client.force_login(UserFactory())
    assert lookup(client, "north").status_code == 403
