"""Home: what needs attention today, each a count linking to the list that shows it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from inventory.services import safety_stock_set
from orders.services import order_ship
from tests.factories import CustomerFactory, ProductFactory, SupplierFactory, UserFactory
from tests.helpers import give_stock, place, sent_po

pytestmark = pytest.mark.django_db


def card_count(response, test_id: str) -> str:
    body = response.content.decode()
    start = body.index(f'data-testid="{test_id}"')
    marker = 'class="display-6'
    number_at = body.index(">", body.index(marker, start)) + 1
    return body[number_at : body.index("<", number_at)].strip()


@pytest.fixture
def attention_world(staff_user, warehouse):
    """One of everything the home page counts."""
    customer = CustomerFactory()
    supplier = SupplierFactory()
    low = ProductFactory(sku="LOW-1")
    level = give_stock(low, warehouse, 2, by=staff_user)
    safety_stock_set(level_ids=[level.pk], value=5, by=staff_user)  # below safety stock
    waiting = ProductFactory(sku="WAIT-2")
    place(customer, warehouse, [(waiting, 4)], by=staff_user)  # backordered
    give_stock(waiting, warehouse, 1, by=staff_user)  # free stock with a queue: releasable
    ready = ProductFactory(sku="READY-3")
    give_stock(ready, warehouse, 3, by=staff_user)
    place(customer, warehouse, [(ready, 3)], by=staff_user)  # ready to ship
    today = timezone.localdate()
    sent_po(supplier, warehouse, [(low, 5)], by=staff_user, expected_date=today)
    sent_po(
        supplier, warehouse, [(low, 5)], by=staff_user, expected_date=today - dt.timedelta(days=2)
    )
    return customer


def test_home_shows_each_count_linking_to_its_filtered_list(staff_client_home, attention_world):
    response = staff_client_home.get(reverse("home"))
    assert response.status_code == 200
    assert card_count(response, "attention-backorders") == "1"
    assert card_count(response, "attention-below-safety") == "1"
    assert card_count(response, "attention-releasable") == "1"
    assert card_count(response, "attention-expected-today") == "1"
    assert card_count(response, "attention-overdue") == "1"
    assert card_count(response, "attention-ready") == "1"
    stock = reverse("inventory:stock-list")
    assertContains(response, f'href="{stock}?below_safety_stock=on"')
    assertContains(response, f'href="{stock}?releasable=on"')
    assertContains(response, "Oldest waiting since")


def test_home_links_lead_to_lists_showing_exactly_what_was_counted(
    staff_client_home, attention_world
):
    for query, sku in (("below_safety_stock=on", "LOW-1"), ("releasable=on", "WAIT-2")):
        page = staff_client_home.get(f"{reverse('inventory:stock-list')}?{query}")
        skus = [row.record.product.sku for row in page.context["table"].paginated_rows]
        assert skus == [sku], query


def test_home_counts_fall_when_the_work_is_done(staff_client_home, staff_user, attention_world):
    from orders.models import SalesOrder

    ready = SalesOrder.objects.get(status="ready")
    order_ship(order_id=ready.pk, by=staff_user)
    response = staff_client_home.get(reverse("home"))
    assert card_count(response, "attention-ready") == "0"


def test_home_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_shows_a_user_without_a_role_no_counts(client, attention_world):
    client.force_login(UserFactory(username="no-role"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assertNotContains(response, "attention-backorders")
    assertNotContains(response, "attention-below-safety")
    assertNotContains(response, "attention-ready")


@pytest.fixture
def staff_client_home(client, staff_user):
    client.force_login(staff_user)
    return client


# Home, whatever the number of rows behind each count:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT COUNT(*) of the backordered lines (the waiting lines' partial index alone)
#  4. SELECT MIN(placed_at) of the orders waiting for stock (the oldest waiting)
#  5. SELECT COUNT(*) of levels below safety stock
#  6. SELECT the counts of open purchase orders expected today and overdue, in one aggregate
#  7. SELECT COUNT(*) of orders ready to ship
#  8. SELECT COUNT(*) of levels with free stock and a queue
#  9. SELECT the user's own permissions (the cards and navbar shown by role)
# 10. SELECT the user's group permissions
HOME_QUERIES = 10


@pytest.mark.parametrize("rows", [3, 25])
def test_home_query_count_does_not_grow_with_rows(
    staff_client_home, staff_user, warehouse, rows, django_assert_num_queries
):
    customer = CustomerFactory()
    supplier = SupplierFactory()
    today = timezone.localdate()
    for _ in range(rows):
        product = ProductFactory()
        level = give_stock(product, warehouse, 1, by=staff_user)
        safety_stock_set(level_ids=[level.pk], value=5, by=staff_user)
        place(customer, warehouse, [(product, 3)], by=staff_user)
        sent_po(supplier, warehouse, [(product, 2)], by=staff_user, expected_date=today)
    with django_assert_num_queries(HOME_QUERIES):
        response = staff_client_home.get(reverse("home"))
    assert card_count(response, "attention-expected-today") == str(rows)


def test_oldest_waiting_is_the_oldest_order_still_waiting(staff_user, warehouse):
    from backoffice.selectors import attention_summary

    customer = CustomerFactory()
    now = timezone.now()
    served, waiting = ProductFactory(), ProductFactory()
    give_stock(served, warehouse, 5, by=staff_user)
    # Older, but nothing of it waits any more.
    place(customer, warehouse, [(served, 5)], by=staff_user, placed_at=now - dt.timedelta(days=9))
    place(customer, warehouse, [(waiting, 2)], by=staff_user, placed_at=now - dt.timedelta(days=4))
    place(customer, warehouse, [(waiting, 1)], by=staff_user, placed_at=now - dt.timedelta(days=1))
    summary = attention_summary()
    assert summary["backordered_lines"] == 2
    assert summary["oldest_waiting"] == now - dt.timedelta(days=4)
