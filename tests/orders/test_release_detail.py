"""The page of a confirmed release at any size: summary, paged lists, SKU filter, CSV."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import Priority
from orders.services import order_ship
from orders.views.release import ReleaseDetailView
from tests.factories import CustomerFactory, ProductFactory
from tests.helpers import csv_rows, give_stock, place
from tests.orders.test_release_views import (
    _confirm_as_proposed,
    allocations_shown,
    ready_orders_shown,
)


def page_url(release, **query) -> str:
    url = reverse("orders:release-detail", args=[release.pk])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def released(warehouse, staff_user, *, orders: int, products: list, quantity: int = 2):
    """Orders each waiting for `quantity` of every product, all released in one batch."""
    placed = [
        place(
            CustomerFactory(),
            warehouse,
            [(product, quantity) for product in products],
            by=staff_user,
        )
        for _ in range(orders)
    ]
    for product in products:
        give_stock(product, warehouse, quantity * orders, by=staff_user)
    release = _confirm_as_proposed(warehouse, products[0], staff_user, products=products)
    return release, placed


@pytest.fixture
def products(db):
    return [ProductFactory(sku=f"PART-{n}", name=f"Part {n}") for n in range(3)]


def test_summary_counts_units_lines_products_orders_and_the_ready_ones(
    staff_client, staff_user, warehouse, products
):
    gear, bolt, nut = products
    ready = place(
        CustomerFactory(), warehouse, [(gear, 2), (bolt, 1)], by=staff_user, priority=Priority.HIGH
    )
    partly = place(CustomerFactory(), warehouse, [(gear, 3), (nut, 4)], by=staff_user)
    give_stock(gear, warehouse, 5, by=staff_user)
    give_stock(bolt, warehouse, 1, by=staff_user)
    release = _confirm_as_proposed(warehouse, gear, staff_user, products=[gear, bolt])

    response = staff_client.get(page_url(release))

    assert response.context["summary"] == {
        "allocations": 3,
        "units": 6,
        "lines": 3,
        "products": 2,
        "orders": 2,
        "ready_orders": 1,
    }
    assert ready_orders_shown(response) == [ready]
    text = response.content.decode()
    assert 'data-testid="summary-units">6<' in text
    assert 'data-testid="summary-ready">1<' in text
    assert partly.number in text  # among the allocations, though not ready


def test_allocations_are_paged_fifty_at_a_time_in_the_order_released(
    staff_client, staff_user, warehouse, products
):
    gear, bolt, _ = products
    release, orders = released(warehouse, staff_user, orders=30, products=[gear, bolt])

    first = staff_client.get(page_url(release))
    second = staff_client.get(page_url(release, page=2))

    shown = allocations_shown(first) + allocations_shown(second)
    assert len(allocations_shown(first)) == 50
    assert first.context["table"].paginator.count == 60
    # Product by product (as the review lists them), each in queue order: oldest order first.
    assert [(a.line.product, a.line.order) for a in shown] == [
        (product, order) for product in sorted([gear, bolt], key=lambda p: p.pk) for order in orders
    ]
    assert [a.reason for a in shown[:2]] == ["Queue position 1", "Queue position 2"]


def test_ready_orders_are_paged_by_priority_then_age(staff_client, staff_user, warehouse, products):
    gear = products[0]
    normal = [place(CustomerFactory(), warehouse, [(gear, 1)], by=staff_user) for _ in range(24)]
    urgent = place(CustomerFactory(), warehouse, [(gear, 1)], by=staff_user, priority=Priority.HIGH)
    give_stock(gear, warehouse, 25, by=staff_user)
    release = _confirm_as_proposed(warehouse, gear, staff_user)

    first = staff_client.get(page_url(release))
    second = staff_client.get(page_url(release, **{"ready-page": 2}))

    per_page = ReleaseDetailView.ready_per_page
    assert ready_orders_shown(first) == [urgent, *normal[: per_page - 1]]
    assert ready_orders_shown(second) == normal[per_page - 1 :]
    # Paging the ready orders leaves the allocations on their first page, and the other way round.
    assert len(allocations_shown(second)) == 25


def test_an_order_shipped_since_leaves_the_ready_count(
    staff_client, staff_user, warehouse, products
):
    release, orders = released(warehouse, staff_user, orders=2, products=products[:1])
    order_ship(order_id=orders[0].pk, by=staff_user)

    response = staff_client.get(page_url(release))

    assert response.context["summary"]["orders"] == 2
    assert response.context["summary"]["ready_orders"] == 1
    assert ready_orders_shown(response) == [orders[1]]


def test_the_allocations_can_be_narrowed_to_a_sku(staff_client, staff_user, warehouse, products):
    gear, bolt, _ = products
    release, _ = released(warehouse, staff_user, orders=3, products=[gear, bolt])

    response = staff_client.get(page_url(release, sku="part-1"))

    assert {a.line.product for a in allocations_shown(response)} == {bolt}
    assert "3 allocations of 6" in response.content.decode()
    # The summary is of the whole release.
    assert response.context["summary"]["allocations"] == 6


def test_a_sku_matching_nothing_says_so(staff_client, staff_user, warehouse, products):
    release, _ = released(warehouse, staff_user, orders=1, products=products[:1])
    response = staff_client.get(page_url(release, sku="NOPE"))
    assert response.status_code == 200
    assert "No allocation of this release matches these filters." in response.content.decode()


@pytest.mark.parametrize("query", [{"sku": "x" * 41}, {"page": "9999"}, {"ready-page": "abc"}])
def test_bad_paging_or_filter_input_is_answered_not_an_error(
    staff_client, staff_user, warehouse, products, query
):
    release, _ = released(warehouse, staff_user, orders=2, products=products[:1])
    response = staff_client.get(page_url(release, **query))
    assert response.status_code == 200


def test_a_too_long_sku_is_a_form_error_and_lists_nothing(
    staff_client, staff_user, warehouse, products
):
    release, _ = released(warehouse, staff_user, orders=2, products=products[:1])
    response = staff_client.get(page_url(release, sku="x" * 41))
    assert response.context["filter"].form.errors["sku"]
    assert allocations_shown(response) == []


def read_csv(response) -> list[list[str]]:
    assert response.streaming
    return csv_rows(response)


def test_csv_streams_every_allocation_as_released(staff_client, staff_user, warehouse, products):
    gear, bolt, _ = products
    release, orders = released(warehouse, staff_user, orders=30, products=[gear, bolt])

    response = staff_client.get(page_url(release, _export="csv"))

    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{release.number}-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == ["Order", "Customer", "SKU", "Product", "Quantity", "Reason"]
    assert len(rows) == 1 + 60  # not paged
    first_sku = min([gear, bolt], key=lambda p: p.pk).sku
    first = orders[0]
    assert rows[1] == [
        first.number,
        first.customer.name,
        first_sku,
        f"Part {first_sku[-1]}",
        "2",
        "Queue position 1",
    ]


def test_csv_follows_the_sku_filter(staff_client, staff_user, warehouse, products):
    gear, bolt, _ = products
    release, _ = released(warehouse, staff_user, orders=3, products=[gear, bolt])
    rows = read_csv(staff_client.get(page_url(release, sku="PART-0", _export="csv")))
    assert [row[2] for row in rows[1:]] == ["PART-0"] * 3


def test_csv_needs_the_view_permission(client, staff_user, warehouse, products):
    from tests.factories import UserFactory

    release, _ = released(warehouse, staff_user, orders=1, products=products[:1])
    client.force_login(UserFactory(username="no-role"))
    assert client.get(page_url(release, _export="csv")).status_code == 403


# The release page, whatever the number of allocations, lines, products or ready orders:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions
#  4. SELECT the permissions of their groups
#  5. SELECT the release with warehouse, shipment, purchase order and creator
#  6. SELECT the summary: allocations, units, lines, products, orders and ready orders (one
#     aggregate; it is also the count of both paginators)
#  7. SELECT the page of allocations (release rows only, sorted as released)
#  8. SELECT the lines of that page with their orders, customers and products
#  9. SELECT the page of ready orders with their customers
RELEASE_PAGE_QUERIES = 9


@pytest.mark.parametrize(("orders", "per_order"), [(1, 2), (40, 5)])
def test_release_page_query_count_does_not_grow_with_the_release(
    staff_client, staff_user, warehouse, orders, per_order, django_assert_num_queries
):
    """A release of 2 lines and one of 200 lines (four pages of allocations, two of ready
    orders) cost the same queries, on any page."""
    parts = [ProductFactory(sku=f"Q-{n}") for n in range(per_order)]
    release, _ = released(warehouse, staff_user, orders=orders, products=parts)
    assert release.allocations.count() == orders * per_order

    for query in ({}, {"page": 4, "ready-page": 2}):
        with django_assert_num_queries(RELEASE_PAGE_QUERIES):
            response = staff_client.get(page_url(release, **query))
        assert response.status_code == 200
    assert response.context["summary"]["lines"] == orders * per_order
    assert len(ready_orders_shown(response)) == (orders - 1) % 20 + 1


def test_filtering_by_sku_adds_only_its_count(
    staff_client, staff_user, warehouse, products, django_assert_num_queries
):
    release, _ = released(warehouse, staff_user, orders=3, products=products)
    with django_assert_num_queries(RELEASE_PAGE_QUERIES + 1):
        staff_client.get(page_url(release, sku="PART-2"))
