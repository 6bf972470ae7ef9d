"""The new-order form's customer: typed by name or number with suggestions from a lookup view,
never a list of every customer, so the page costs the same whatever the number of customers."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from orders.models import Customer, Priority, SalesOrder
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

OPTION = re.compile(r'<option value="([^"]*)">([^<]*)</option>')


def lookup(client, typed):
    return client.get(reverse("orders:customer-lookup"), {"customer": typed})


def options(response) -> list[str]:
    return OPTION.findall(response.content.decode())


def post_order(client, customer_text, warehouse, sku="WIDGET-1"):
    token = client.get(reverse("orders:order-create")).context["once_token"]
    return client.post(
        reverse("orders:order-create"),
        {
            "once_token": token,
            "customer": customer_text,
            "warehouse": warehouse.pk,
            "priority": Priority.NORMAL,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "500",
            "lines-0-sku": sku,
            "lines-0-quantity": "2",
        },
    )


# --- the form -------------------------------------------------------------------------------


def test_the_customer_is_a_labelled_text_box_with_suggestions_not_a_list(staff_client):
    CustomerFactory.create_batch(3)
    html = staff_client.get(reverse("orders:order-create")).content.decode()
    assert 'name="customer"' in html
    assert '<select name="customer"' not in html
    field = re.search(r'<input[^>]*name="customer"[^>]*>', html)[0]
    assert 'type="text"' in field
    assert 'list="customer-options"' in field
    assert f'hx-get="{reverse("orders:customer-lookup")}"' in field
    assert 'hx-target="#customer-options"' in field
    assert re.search(r'<label[^>]*for="id_customer"[^>]*>\s*Customer', html)
    assert '<datalist id="customer-options"></datalist>' in html


# The new-order page, whatever the number of customers:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's permissions
#  4. SELECT the user's groups' permissions
#  5. SELECT the active warehouses (the warehouse <select>; a handful)
# With ?customer=<id> (a link that preselects one), 6: SELECT that active customer.
@pytest.mark.parametrize("count", [3, 60])
def test_the_page_costs_the_same_queries_whatever_the_number_of_customers(
    staff_client, warehouse, count, django_assert_num_queries
):
    customers = CustomerFactory.create_batch(count)
    url = reverse("orders:order-create")
    with django_assert_num_queries(5):
        response = staff_client.get(url)
    assert response.status_code == 200
    assert customers[-1].name not in response.content.decode()
    with django_assert_num_queries(6):
        response = staff_client.get(url, {"customer": customers[-1].pk})
    assertContains(response, f'value="{customers[-1].name}"')


def test_a_link_with_an_inactive_or_unknown_customer_preselects_nothing(staff_client):
    gone = CustomerFactory(name="Gone Trading", is_active=False)
    for value in (gone.pk, 999999, "abc", "9" * 25):
        response = staff_client.get(reverse("orders:order-create"), {"customer": value})
        assert response.status_code == 200
        assert response.context["form"]["customer"].value() is None
        assertNotContains(response, "Gone Trading")


# --- placing an order with a typed customer --------------------------------------------------


@pytest.mark.parametrize("typed", ["birch & sons", "BIRCH & SONS", "number", "#number"])
def test_an_order_is_placed_for_the_customer_typed_by_name_or_number(
    staff_client, warehouse, product, typed
):
    CustomerFactory(name="Birch Ltd")
    birch = CustomerFactory(name="Birch & Sons")
    typed = typed.replace("number", str(birch.pk))
    response = post_order(staff_client, typed, warehouse)
    order = SalesOrder.objects.get()
    assert response.status_code == 302
    assert order.customer == birch


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("birch", "matches several customers"),
        ("Birch & So", "did you mean Birch &amp; Sons"),
        ("Nobody", "No active customer is called “Nobody”."),
        ("#999999", "No customer has the number 999999."),
        ("<script>x</script>", "No active customer is called “&lt;script&gt;x&lt;/script&gt;”."),
        ("", "This field is required."),
    ],
)
def test_an_unresolved_customer_is_a_form_error_and_nothing_is_placed(
    staff_client, warehouse, product, typed, message
):
    CustomerFactory(name="Birch Ltd")
    CustomerFactory(name="Birch & Sons")
    response = post_order(staff_client, typed, warehouse)
    assert response.status_code == 200
    assertContains(response, message)
    assertNotContains(response, "<script>x</script>")
    assert response.context["form"].errors["customer"]
    assert not SalesOrder.objects.exists()


def test_a_form_error_elsewhere_keeps_what_was_typed(staff_client, warehouse, product):
    CustomerFactory(name="Birch & Sons")
    response = post_order(staff_client, "birch & sons", warehouse, sku="NOPE-404")
    assertContains(response, 'value="birch &amp; sons"')
    assertContains(response, "Unknown SKU")
    assert not SalesOrder.objects.exists()


# --- the lookup --------------------------------------------------------------------------------


def test_the_lookup_suggests_active_customers_by_part_of_the_name_starting_ones_first(
    staff_client,
):
    CustomerFactory(name="Northern Acme")
    CustomerFactory(name="Acme Tools")
    CustomerFactory(name="Acme Old", is_active=False)
    CustomerFactory(name="Birch & Sons")
    found = options(lookup(staff_client, "acme"))
    assert [value for value, _ in found] == ["Acme Tools", "Northern Acme"]


def test_the_lookup_finds_a_customer_by_number_and_labels_each_with_its_number(staff_client):
    birch = CustomerFactory(name="Birch & Sons", email="buyer@birch.example")
    response = lookup(staff_client, f"#{birch.pk}")
    assert options(response) == [("Birch &amp; Sons", f"#{birch.pk} · buyer@birch.example")]


def test_the_lookup_escapes_names(staff_client):
    CustomerFactory(name='Evil "><script>alert(1)</script>', email="")
    response = lookup(staff_client, "evil")
    body = response.content.decode()
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    assert "&quot;&gt;" in body


def test_the_lookup_sends_at_most_twenty_suggestions(staff_client, django_assert_num_queries):
    CustomerFactory.create_batch(30)
    # session, user, two permission reads, the suggestions
    with django_assert_num_queries(5):
        response = lookup(staff_client, "customer")
    assert len(options(response)) == 20


@pytest.mark.parametrize("typed", ["", "   ", "zzz", "9" * 300])
def test_the_lookup_answers_nothing_for_nothing_found(staff_client, typed):
    CustomerFactory(name="Birch & Sons")
    response = lookup(staff_client, typed)
    assert response.status_code == 200
    assert options(response) == []


def test_the_lookup_needs_a_sign_in_and_the_permission_to_place_orders(client):
    CustomerFactory(name="Birch & Sons")
    response = lookup(client, "birch")
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    client.force_login(UserFactory())
    assert lookup(client, "birch").status_code == 403
    reader = UserFactory()
    reader.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(reader)
    assert lookup(client, "birch").status_code == 403
    assert Customer.objects.count() == 1
