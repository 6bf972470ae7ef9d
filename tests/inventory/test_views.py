"""Stock pages: the stock table (filters, CSV, inline and bulk safety stock), adjust / count,
transfer, product detail and its chart.

Every refused input must show a clear message on the page AND leave the database unchanged.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from inventory.models import SafetyStockChange, StockLevel, StockMovement
from inventory.services import safety_stock_set
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import csv_rows, give_stock, level_for, place, sent_po

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/stock/?search=WID"}
BAD_QUANTITIES = [
    ("-1", "at least 0"),
    ("1.5", "whole number"),
    ("abc", "whole number"),
    ("", "required"),
    ("1000000001", "1000000000 is the most"),
]


@pytest.fixture
def other_warehouse(db):
    return WarehouseFactory(code="NORTH", name="North depot")


@pytest.fixture
def level(staff_user, product, warehouse):
    """WIDGET-1 at MAIN with 10 on the shelf."""
    return give_stock(product, warehouse, 10, by=staff_user)


@pytest.fixture
def nobody_client(client):
    """Signed in, but in no role."""
    client.force_login(UserFactory(username="no-role"))
    return client


def ledger_and_safety_snapshot():
    return (
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "safety_stock")),
        StockMovement.objects.count(),
        SafetyStockChange.objects.count(),
    )


# --- who may open what -----------------------------------------------------------------------


def _urls(level, product):
    return [
        ("get", reverse("inventory:stock-list")),
        ("get", reverse("inventory:product-detail", args=[product.pk])),
        ("get", reverse("inventory:product-chart", args=[product.pk])),
        ("get", reverse("inventory:safetystock-edit", args=[level.pk])),
        ("post", reverse("inventory:safetystock-edit", args=[level.pk])),
        ("post", reverse("inventory:safetystock-bulk")),
        ("get", reverse("inventory:stocklevel-adjust", args=[level.pk])),
        ("post", reverse("inventory:stocklevel-adjust", args=[level.pk])),
        ("get", reverse("inventory:stocklevel-transfer", args=[level.pk])),
        ("post", reverse("inventory:stocklevel-transfer", args=[level.pk])),
    ]


def test_anonymous_visitors_are_sent_to_sign_in(client, level, product):
    before = ledger_and_safety_snapshot()
    for method, url in _urls(level, product):
        response = getattr(client, method)(url, {"value": "5", "levels": [level.pk]})
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url
    assert ledger_and_safety_snapshot() == before


def test_signed_in_users_without_a_role_get_403_and_change_nothing(nobody_client, level, product):
    before = ledger_and_safety_snapshot()
    for method, url in _urls(level, product):
        response = getattr(nobody_client, method)(
            url, {"value": "5", "levels": [level.pk], "mode": "add", "quantity": "5"}
        )
        assert response.status_code == 403, url
    # The permission is checked before the level is looked up: no hint about which ids exist.
    assert (
        nobody_client.get(reverse("inventory:stocklevel-adjust", args=[999999])).status_code == 403
    )
    assert ledger_and_safety_snapshot() == before


# --- the stock table -------------------------------------------------------------------------


def test_stock_list_shows_each_level_with_its_figures_and_links(
    staff_client, staff_user, level, product, warehouse
):
    customer = CustomerFactory()
    place(customer, warehouse, [(product, 14)], by=staff_user)  # 10 allocated, 4 backordered
    sent_po(SupplierFactory(), warehouse, [(product, 20)], by=staff_user)

    response = staff_client.get(reverse("inventory:stock-list"))

    assert response.status_code == 200
    row = response.context["table"].rows[0]
    cells = {name: row.get_cell_value(name) for name in ("on_hand", "allocated", "backordered")}
    assert cells == {"on_hand": 10, "allocated": 10, "backordered": 4}
    assert row.get_cell_value("on_order") == 20
    assert row.get_cell_value("projected") == 10 + 20 - 10 - 4
    assertContains(response, f'href="{product.get_absolute_url()}"')
    assertContains(response, 'class="num"')
    assertContains(response, "table-responsive")
    assertContains(response, "_export=csv")
    assert response.context["table"].paginator.per_page == 50


def _sku_set(response) -> set[str]:
    return {row.record.product.sku for row in response.context["table"].paginated_rows}


@pytest.fixture
def filter_world(staff_user, warehouse, other_warehouse):
    """Levels that each match exactly one of the tick-box filters."""
    calm = ProductFactory(sku="CALM-1", name="Calm bolts")
    low = ProductFactory(sku="LOW-2", name="Low nuts")
    queued = ProductFactory(sku="QUEUE-3", name="Queued washers")
    free_queue = ProductFactory(sku="FREE-4", name="Releasable screws")
    give_stock(calm, warehouse, 50, by=staff_user)
    give_stock(calm, other_warehouse, 5, by=staff_user)
    low_level = give_stock(low, warehouse, 3, by=staff_user)
    safety_stock_set(level_ids=[low_level.pk], value=10, by=staff_user)
    customer = CustomerFactory()
    place(customer, warehouse, [(queued, 5)], by=staff_user)  # nothing on the shelf: queue only
    level_for(queued, warehouse)
    place(customer, other_warehouse, [(free_queue, 4)], by=staff_user)
    # Stock found after the order was queued: free on the shelf while the queue waits.
    give_stock(free_queue, other_warehouse, 6, by=staff_user)
    return {"calm": calm, "low": low, "queued": queued, "free_queue": free_queue}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"CALM-1", "LOW-2", "QUEUE-3", "FREE-4"}),
        ({"below_safety_stock": "on"}, {"LOW-2"}),
        ({"has_backorders": "on"}, {"QUEUE-3", "FREE-4"}),
        ({"releasable": "on"}, {"FREE-4"}),
        ({"search": "nuts"}, {"LOW-2"}),
        ({"search": "queue-3"}, {"QUEUE-3"}),
        ({"search": "   "}, {"CALM-1", "LOW-2", "QUEUE-3", "FREE-4"}),
        ({"below_safety_stock": "off"}, {"CALM-1", "LOW-2", "QUEUE-3", "FREE-4"}),
    ],
)
def test_stock_list_filters(staff_client, filter_world, query, expected):
    response = staff_client.get(reverse("inventory:stock-list"), query)
    assert response.status_code == 200
    assert _sku_set(response) == expected


def test_stock_list_filters_by_warehouse(staff_client, filter_world, other_warehouse):
    response = staff_client.get(reverse("inventory:stock-list"), {"warehouse": other_warehouse.pk})
    rows = response.context["table"].paginated_rows
    assert {row.record.warehouse.code for row in rows} == {"NORTH"}
    assert _sku_set(response) == {"CALM-1", "FREE-4"}


@pytest.mark.parametrize("garbage", ["abc", "999999", "-1", "1 OR 1=1"])
def test_stock_list_with_a_garbage_warehouse_says_so_and_shows_nothing(
    staff_client, filter_world, garbage
):
    response = staff_client.get(reverse("inventory:stock-list"), {"warehouse": garbage})
    assert response.status_code == 200
    assertContains(response, "Choose one of the listed warehouses.")
    assert _sku_set(response) == set()


def test_stock_list_offers_release_only_for_free_stock_with_a_queue(
    staff_client, filter_world, other_warehouse
):
    response = staff_client.get(reverse("inventory:stock-list"))
    release = reverse("orders:release-review")
    links = re.findall(rf'href="{release}\?([^"]+)"', response.content.decode())
    free_queue = filter_world["free_queue"]
    assert links == [f"warehouse={other_warehouse.pk}&amp;product={free_queue.pk}"]


def test_stock_list_sorts_by_a_column(staff_client, filter_world):
    response = staff_client.get(reverse("inventory:stock-list"), {"sort": "-on_hand"})
    on_hand = [row.record.on_hand for row in response.context["table"].paginated_rows]
    assert on_hand == sorted(on_hand, reverse=True)
    assert on_hand[0] == 50


def test_stock_list_hides_tick_boxes_from_users_who_cannot_set_safety_stock(level):
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_stocklevel"),
    )
    client = Client()
    client.force_login(viewer)
    response = client.get(reverse("inventory:stock-list"))
    assert response.status_code == 200
    assertNotContains(response, 'name="levels"')
    assertNotContains(response, "bulk-safety-form")
    assertNotContains(response, "hx-get")


def test_stock_csv_export_returns_the_filtered_rows(staff_client, filter_world, other_warehouse):
    response = staff_client.get(
        reverse("inventory:stock-list"),
        {"warehouse": other_warehouse.pk, "has_backorders": "on", "_export": "csv"},
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "SKU",
        "Name",
        "Warehouse",
        "On hand",
        "Allocated",
        "Available",
        "Backordered",
        "On order",
        "Projected",
        "Safety stock",
    ]
    assert rows[1:] == [["FREE-4", "Releasable screws", "NORTH", "6", "0", "6", "4", "0", "2", "0"]]


def test_stock_csv_export_is_not_paginated(staff_client, staff_user, warehouse):
    for _ in range(55):
        level_for(ProductFactory(), warehouse)
    rows = csv_rows(staff_client.get(reverse("inventory:stock-list"), {"_export": "csv"}))
    assert len(rows) == 1 + 55


def test_stock_csv_export_follows_the_sort_on_screen(staff_client, warehouse):
    for sku in ("B-2", "A-1", "C-3"):
        level_for(ProductFactory(sku=sku), warehouse)
    url = reverse("inventory:stock-list")
    rows = csv_rows(staff_client.get(url, {"_export": "csv", "sort": "-sku"}))
    assert [row[0] for row in rows[1:]] == ["C-3", "B-2", "A-1"]


@pytest.mark.parametrize("rows", [5, 60])
def test_stock_csv_export_queries_do_not_grow_with_rows(
    staff_client, staff_user, warehouse, rows, django_assert_num_queries
):
    supplier = SupplierFactory()
    for _ in range(rows):
        product = ProductFactory()
        give_stock(product, warehouse, 3, by=staff_user)
        place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
        sent_po(supplier, warehouse, [(product, 4)], by=staff_user)
    # Session, user, two permission reads, then one query for every row (the figures are
    # subqueries), read a chunk at a time.
    with django_assert_num_queries(5):
        exported = csv_rows(staff_client.get(reverse("inventory:stock-list"), {"_export": "csv"}))
    assert len(exported) == 1 + rows
    assert {tuple(row[3:]) for row in exported[1:]} == {("3", "3", "0", "2", "4", "2", "0")}


# The stock table, whatever the number of rows (the figures are subqueries of the one row query):
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions  (PermissionRequiredMixin, then cached for the navbar)
#  4. SELECT the user's group permissions
#  5. SELECT COUNT(*) of the filtered levels (paginator)
#  6. SELECT the active warehouses for the filter's drop-down
#  7. SELECT one page of levels with product, warehouse, backordered, on order and projected
STOCK_LIST_QUERIES = 7


@pytest.mark.parametrize("rows", [3, 25])
def test_stock_list_query_count_does_not_grow_with_rows(
    staff_client, staff_user, warehouse, other_warehouse, rows, django_assert_num_queries
):
    customer = CustomerFactory()
    supplier = SupplierFactory()
    for index in range(rows):
        product = ProductFactory()
        if index % 3 == 0:
            # Queued first, then stock found: free stock with a queue (a Release link).
            place(customer, warehouse, [(product, 8)], by=staff_user)
            sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
            give_stock(product, warehouse, 3, by=staff_user)
        else:
            give_stock(product, warehouse if index % 2 else other_warehouse, 5, by=staff_user)
    url = reverse("inventory:stock-list")
    with django_assert_num_queries(STOCK_LIST_QUERIES):
        response = staff_client.get(url, {"has_backorders": ""})
    assert len(response.context["table"].paginated_rows) >= rows
    assertContains(response, "Release")  # free stock with a queue exists in both sizes


# --- inline safety stock ---------------------------------------------------------------------


def test_safety_stock_inline_get_returns_only_the_small_form(staff_client, level):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.get(url + "?in=row", headers=HTMX)
    assert response.status_code == 200
    assertNotContains(response, "<html")
    assertContains(response, 'name="value"')
    assertContains(response, 'hx-target="closest tr"')
    assertContains(response, "Safety stock of WIDGET-1 at MAIN")
    assert "HX-Request" in response["Vary"]


def test_safety_stock_inline_cancel_returns_the_value(staff_client, level):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.get(url + "?cancel=1&in=row", headers=HTMX)
    assertContains(response, 'title="Change the safety stock of WIDGET-1 at MAIN"')
    assertNotContains(response, "<form")
    # The no-JavaScript link goes back to the page the table is on.
    assertContains(response, "next=/stock/%3Fsearch%3DWID")


def test_safety_stock_inline_save_returns_the_whole_row_marked_below_safety(
    staff_client, staff_user, level
):
    url = reverse("inventory:safetystock-edit", args=[level.pk]) + "?in=row"
    response = staff_client.post(url, {"value": "12", "reason": "Slow supplier"}, headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<tr")
    assert "below safety" in body  # 10 available < 12: the row says so at once
    assert "table-warning" in body
    assert 'role="status">saved<' in body
    level.refresh_from_db()
    assert level.safety_stock == 12
    change = SafetyStockChange.objects.get(level=level)
    assert (change.old_value, change.new_value, change.reason) == (0, 12, "Slow supplier")
    assert change.changed_by == staff_user


def test_safety_stock_inline_save_outside_the_table_refreshes_the_page_with_a_message(
    staff_client, level
):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.post(url, {"value": "4"}, headers=HTMX)
    assert response["HX-Refresh"] == "true"
    level.refresh_from_db()
    assert level.safety_stock == 4
    page = staff_client.get(reverse("inventory:product-detail", args=[level.product_id]))
    assertContains(page, "Safety stock of WIDGET-1 at MAIN is now 4.")


def test_safety_stock_can_be_set_to_zero(staff_client, staff_user, level):
    safety_stock_set(level_ids=[level.pk], value=8, by=staff_user)
    url = reverse("inventory:safetystock-edit", args=[level.pk]) + "?in=row"
    staff_client.post(url, {"value": "0"}, headers=HTMX)
    level.refresh_from_db()
    assert level.safety_stock == 0


@pytest.mark.parametrize(("value", "message"), BAD_QUANTITIES)
def test_safety_stock_inline_bad_value_shows_the_form_again_and_changes_nothing(
    staff_client, level, value, message
):
    before = ledger_and_safety_snapshot()
    url = reverse("inventory:safetystock-edit", args=[level.pk]) + "?in=row"
    response = staff_client.post(url, {"value": value}, headers=HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assertContains(response, "is-invalid")
    assertContains(response, 'hx-post="')
    assert ledger_and_safety_snapshot() == before


def test_safety_stock_reason_too_long_is_refused(staff_client, level):
    before = ledger_and_safety_snapshot()
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.post(url, {"value": "3", "reason": "x" * 256}, headers=HTMX)
    assertContains(response, "at most 255 characters")
    assert ledger_and_safety_snapshot() == before


def test_safety_stock_plain_post_without_htmx_redirects_back(staff_client, level):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.post(url, {"value": "6", "next": "/stock/?search=WIDGET"})
    assertRedirects(response, "/stock/?search=WIDGET", fetch_redirect_response=False)
    level.refresh_from_db()
    assert level.safety_stock == 6
    page = staff_client.get("/stock/?search=WIDGET")
    assertContains(page, "Safety stock of WIDGET-1 at MAIN is now 6.")


def test_safety_stock_plain_post_never_redirects_off_site(staff_client, level):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    response = staff_client.post(url, {"value": "6", "next": "https://evil.example.com/"})
    assertRedirects(response, reverse("inventory:stock-list"), fetch_redirect_response=False)


def test_safety_stock_plain_get_and_bad_post_show_a_full_form_page(staff_client, level):
    url = reverse("inventory:safetystock-edit", args=[level.pk])
    page = staff_client.get(url)
    assertContains(page, "<html")
    assertContains(page, "Safety stock of WIDGET-1 at MAIN")
    before = ledger_and_safety_snapshot()
    response = staff_client.post(url, {"value": "-4"})
    assert response.status_code == 200
    assertContains(response, "<html")
    assertContains(response, "Enter a quantity of at least 0.")
    assert ledger_and_safety_snapshot() == before


def test_safety_stock_edit_of_an_unknown_level_is_404(staff_client):
    url = reverse("inventory:safetystock-edit", args=[999999])
    assert staff_client.get(url, headers=HTMX).status_code == 404
    assert staff_client.post(url, {"value": "3"}).status_code == 404


# --- bulk safety stock -----------------------------------------------------------------------


@pytest.fixture
def two_levels(staff_user, warehouse):
    first = give_stock(ProductFactory(sku="BULK-1"), warehouse, 5, by=staff_user)
    second = give_stock(ProductFactory(sku="BULK-2"), warehouse, 5, by=staff_user)
    return first, second


def test_bulk_safety_stock_sets_every_ticked_row(staff_client, staff_user, two_levels):
    first, second = two_levels
    response = staff_client.post(
        reverse("inventory:safetystock-bulk"),
        {
            "levels": [first.pk, second.pk],
            "value": "9",
            "reason": "Season",
            "next": "/stock/?search=BULK",
        },
    )
    assertRedirects(response, "/stock/?search=BULK", fetch_redirect_response=False)
    assert set(
        StockLevel.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "safety_stock", flat=True
        )
    ) == {9}
    assert SafetyStockChange.objects.filter(reason="Season", changed_by=staff_user).count() == 2
    page = staff_client.get("/stock/?search=BULK")
    assertContains(page, "Safety stock set to 9 on 2 rows")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"value": "5"}, "Tick at least one row."),
        ({"levels": ["abc"], "value": "5"}, "The selection is not valid"),
        ({"levels": ["-3"], "value": "5"}, "The selection is not valid"),
        ({"levels": ["999999"], "value": "5"}, "Some of the chosen stock levels no longer exist."),
        ({"levels": "FIRST", "value": "-5"}, "Enter a quantity of at least 0."),
        ({"levels": "FIRST", "value": "2.5"}, "Enter a whole number"),
        ({"levels": "FIRST", "value": ""}, "This field is required."),
        ({"levels": "FIRST", "value": "1000000001"}, "1000000000 is the most"),
        ({"levels": "FIRST", "value": "5", "reason": "y" * 300}, "at most 255 characters"),
    ],
)
def test_bulk_safety_stock_bad_input_says_why_and_changes_nothing(
    staff_client, two_levels, data, message
):
    first, _ = two_levels
    if data.get("levels") == "FIRST":
        data = {**data, "levels": [first.pk]}
    before = ledger_and_safety_snapshot()
    response = staff_client.post(reverse("inventory:safetystock-bulk"), data)
    assert response.status_code == 200
    assertContains(response, message)
    assert ledger_and_safety_snapshot() == before


def test_bulk_safety_stock_error_page_keeps_the_selection(staff_client, two_levels):
    first, second = two_levels
    response = staff_client.post(
        reverse("inventory:safetystock-bulk"), {"levels": [first.pk, second.pk], "value": "x"}
    )
    assertContains(response, f'name="levels" value="{first.pk}"')
    assertContains(response, "BULK-2")


def test_bulk_safety_stock_get_goes_back_to_the_table(staff_client):
    response = staff_client.get(reverse("inventory:safetystock-bulk"))
    assertRedirects(response, reverse("inventory:stock-list"), fetch_redirect_response=False)


# --- adjust and count ------------------------------------------------------------------------


def _adjust(client, level, **data):
    return client.post(reverse("inventory:stocklevel-adjust", args=[level.pk]), data)


def test_adjust_page_shows_the_level(staff_client, level):
    response = staff_client.get(reverse("inventory:stocklevel-adjust", args=[level.pk]))
    assertContains(response, "Adjust or count WIDGET-1 at MAIN")
    assertContains(response, "Set to a physical count")


@pytest.mark.parametrize(
    ("mode", "quantity", "on_hand", "kind", "change"),
    [
        ("add", "5", 15, "adjustment", 5),
        ("remove", "3", 7, "adjustment", -3),
        ("count", "4", 4, "count", -6),
        ("count", "0", 0, "count", -10),
    ],
)
def test_adjust_or_count_records_a_movement_with_the_reason(
    staff_client, staff_user, level, mode, quantity, on_hand, kind, change
):
    response = _adjust(staff_client, level, mode=mode, quantity=quantity, reason="Cycle count")
    assertRedirects(response, level.product.get_absolute_url(), fetch_redirect_response=False)
    level.refresh_from_db()
    assert level.on_hand == on_hand
    movement = StockMovement.objects.filter(level=level).first()
    assert (movement.kind, movement.quantity, movement.reason, movement.created_by) == (
        kind,
        change,
        "Cycle count",
        staff_user,
    )
    page = staff_client.get(level.product.get_absolute_url())
    assertContains(page, f"WIDGET-1 at MAIN: {change:+d}, on hand is now {on_hand}.")


def test_a_count_that_matches_the_books_records_nothing(staff_client, level):
    before = ledger_and_safety_snapshot()
    response = _adjust(staff_client, level, mode="count", quantity="10", reason="Checked")
    assert response.status_code == 302
    assert ledger_and_safety_snapshot() == before
    page = staff_client.get(level.product.get_absolute_url())
    assertContains(page, "The count matches the books for WIDGET-1 at MAIN; nothing changed.")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "add", "quantity": "0", "reason": "r"}, "at least 1 to add or remove"),
        ({"mode": "remove", "quantity": "0", "reason": "r"}, "at least 1 to add or remove"),
        ({"mode": "add", "quantity": "-5", "reason": "r"}, "Enter a quantity of at least 0."),
        ({"mode": "add", "quantity": "2.5", "reason": "r"}, "Enter a whole number"),
        ({"mode": "add", "quantity": "lots", "reason": "r"}, "Enter a whole number"),
        ({"mode": "add", "quantity": "1000000001", "reason": "r"}, "1000000000 is the most"),
        ({"mode": "add", "quantity": "", "reason": "r"}, "This field is required."),
        ({"mode": "add", "quantity": "5", "reason": ""}, "This field is required."),
        ({"mode": "add", "quantity": "5", "reason": "   "}, "This field is required."),
        ({"mode": "add", "quantity": "5", "reason": "z" * 256}, "at most 255 characters"),
        ({"mode": "steal", "quantity": "5", "reason": "r"}, "Select a valid choice."),
        ({"mode": "remove", "quantity": "11", "reason": "r"}, "Only 10 of WIDGET-1 at MAIN"),
        ({"mode": "add", "quantity": "999999999", "reason": "r"}, None),  # allowed: ≤ the limit
    ],
)
def test_adjust_bad_input_says_why_and_changes_nothing(staff_client, level, data, message):
    before = ledger_and_safety_snapshot()
    response = _adjust(staff_client, level, **data)
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assertContains(response, message)
    assert ledger_and_safety_snapshot() == before


def test_stock_allocated_to_orders_cannot_be_counted_away(
    staff_client, staff_user, level, product, warehouse
):
    place(CustomerFactory(), warehouse, [(product, 7)], by=staff_user)
    before = ledger_and_safety_snapshot()
    response = _adjust(staff_client, level, mode="count", quantity="5", reason="Count")
    assertContains(response, "7 of WIDGET-1 are allocated to orders")
    response = _adjust(staff_client, level, mode="remove", quantity="4", reason="Broken")
    assertContains(response, "Only 3 of WIDGET-1 at MAIN are free to remove")
    assert ledger_and_safety_snapshot() == before


def test_adjust_of_an_unknown_level_is_404(staff_client):
    url = reverse("inventory:stocklevel-adjust", args=[999999])
    assert staff_client.get(url).status_code == 404
    assert (
        staff_client.post(url, {"mode": "add", "quantity": "1", "reason": "r"}).status_code == 404
    )


# --- transfer --------------------------------------------------------------------------------


def _transfer(client, level, **data):
    return client.post(reverse("inventory:stocklevel-transfer", args=[level.pk]), data)


def test_transfer_moves_stock_with_two_movements(
    staff_client, staff_user, level, product, other_warehouse
):
    response = _transfer(
        staff_client, level, to_warehouse=other_warehouse.pk, quantity="4", reason="Rebalance"
    )
    assertRedirects(response, product.get_absolute_url(), fetch_redirect_response=False)
    level.refresh_from_db()
    assert level.on_hand == 6
    assert level_for(product, other_warehouse).on_hand == 4
    moves = StockMovement.objects.filter(kind="transfer").order_by("quantity")
    assert [(m.quantity, m.created_by, m.reason) for m in moves] == [
        (-4, staff_user, "Rebalance"),
        (4, staff_user, "Rebalance"),
    ]
    page = staff_client.get(product.get_absolute_url())
    assertContains(page, "Moved 4 of WIDGET-1 from MAIN to NORTH.")


def test_transfer_page_offers_only_other_active_warehouses(staff_client, level, other_warehouse):
    WarehouseFactory(code="SHUT", name="Closed site", is_active=False)
    response = staff_client.get(reverse("inventory:stocklevel-transfer", args=[level.pk]))
    choices = [str(w) for w in response.context["form"].fields["to_warehouse"].queryset]
    assert choices == ["NORTH – North depot"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to_warehouse": "SELF", "quantity": "1", "reason": "r"}, "Choose one of the listed"),
        ({"to_warehouse": "abc", "quantity": "1", "reason": "r"}, "Choose one of the listed"),
        ({"to_warehouse": "999999", "quantity": "1", "reason": "r"}, "Choose one of the listed"),
        ({"to_warehouse": "", "quantity": "1", "reason": "r"}, "This field is required."),
        ({"to_warehouse": "NORTH", "quantity": "0", "reason": "r"}, "at least 1"),
        ({"to_warehouse": "NORTH", "quantity": "-2", "reason": "r"}, "at least 1"),
        ({"to_warehouse": "NORTH", "quantity": "1.5", "reason": "r"}, "Enter a whole number"),
        ({"to_warehouse": "NORTH", "quantity": "x", "reason": "r"}, "Enter a whole number"),
        ({"to_warehouse": "NORTH", "quantity": "1000000001", "reason": "r"}, "is the most"),
        ({"to_warehouse": "NORTH", "quantity": "1", "reason": ""}, "This field is required."),
        ({"to_warehouse": "NORTH", "quantity": "11", "reason": "r"}, "Only 10 of WIDGET-1"),
    ],
)
def test_transfer_bad_input_says_why_and_changes_nothing(
    staff_client, level, warehouse, other_warehouse, data, message
):
    ids = {"SELF": warehouse.pk, "NORTH": other_warehouse.pk}
    data = {**data, "to_warehouse": ids.get(data["to_warehouse"], data["to_warehouse"])}
    before = ledger_and_safety_snapshot()
    response = _transfer(staff_client, level, **data)
    assert response.status_code == 200
    assertContains(response, message)
    assert ledger_and_safety_snapshot() == before


def test_transfer_cannot_take_stock_owed_to_the_queue(
    staff_client, staff_user, product, warehouse, other_warehouse
):
    place(CustomerFactory(), warehouse, [(product, 6)], by=staff_user)  # all backordered
    level = give_stock(product, warehouse, 8, by=staff_user)  # 8 free, 6 owed: 2 may leave
    before = ledger_and_safety_snapshot()
    response = _transfer(
        staff_client, level, to_warehouse=other_warehouse.pk, quantity="3", reason="r"
    )
    assertContains(response, "Only 2 of WIDGET-1 at MAIN can be moved")
    assert ledger_and_safety_snapshot() == before


# --- product detail --------------------------------------------------------------------------


@pytest.fixture
def detailed_product(staff_user, product, warehouse, other_warehouse):
    """WIDGET-1: stock at two warehouses, two orders waiting at MAIN, a PO due, two suppliers."""
    give_stock(product, warehouse, 2, by=staff_user)
    give_stock(product, other_warehouse, 7, by=staff_user)
    from orders.models import Priority

    place(CustomerFactory(name="Early Normal"), warehouse, [(product, 5)], by=staff_user)
    place(
        CustomerFactory(name="Late Urgent"),
        warehouse,
        [(product, 4)],
        by=staff_user,
        priority=Priority.URGENT,
    )
    preferred = SupplierFactory(name="Acme")
    SupplierProductFactory(
        supplier=preferred, product=product, supplier_sku="AC-W1", is_preferred=True
    )
    SupplierProductFactory(supplier=SupplierFactory(name="Bolt"), product=product)
    sent_po(preferred, warehouse, [(product, 20)], by=staff_user)
    return product


def test_product_detail_shows_levels_queue_with_etas_terms_and_charts(
    staff_client, detailed_product, warehouse, other_warehouse
):
    response = staff_client.get(detailed_product.get_absolute_url())
    assert response.status_code == 200
    levels = {level.warehouse.code: level for level in response.context["levels"]}
    assert (levels["MAIN"].on_hand, levels["MAIN"].allocated, levels["MAIN"].backordered) == (
        2,
        2,
        7,
    )
    assert levels["MAIN"].on_order == 20
    (queue,) = response.context["queues"]
    assert queue["warehouse"] == warehouse
    # Queue order: the urgent order first although it came later.
    names = [item["line"].order.customer.name for item in queue["lines"]]
    assert names == ["Late Urgent", "Early Normal"]
    assert all(item["eta"].state == "expected" for item in queue["lines"])
    body = response.content.decode()
    assert body.index("Late Urgent") < body.index("Early Normal")
    assertContains(response, "PO-")
    assertContains(response, "AC-W1")
    assertContains(response, "Preferred")
    assertContains(response, "Bolt")
    for level in levels.values():
        chart = reverse("inventory:product-chart", args=[detailed_product.pk])
        assertContains(response, f'src="{chart}?warehouse={level.warehouse_id}"')
    assertContains(response, reverse("inventory:stocklevel-adjust", args=[levels["MAIN"].pk]))
    assertContains(response, reverse("inventory:stocklevel-transfer", args=[levels["NORTH"].pk]))


def test_product_detail_ledger_is_paginated_by_25_with_who_and_why(
    staff_client, staff_user, product, warehouse
):
    level = give_stock(product, warehouse, 1, by=staff_user, reason="Opening")
    for index in range(29):
        give_stock(product, warehouse, 1, by=staff_user, reason=f"Found #{index}")
    response = staff_client.get(product.get_absolute_url())
    ledger = response.context["ledger"]
    assert len(ledger.page.object_list) == 25
    assert ledger.page.paginator.count == 30
    assertContains(response, "Found #28")  # newest first
    assertContains(response, staff_user.username)
    page_two = staff_client.get(product.get_absolute_url(), {"page": 2})
    assert len(page_two.context["ledger"].page.object_list) == 5
    assertContains(page_two, "Opening")
    assert level.pk


def test_product_detail_of_an_unknown_product_is_404(staff_client):
    assert staff_client.get(reverse("inventory:product-detail", args=[999999])).status_code == 404


def test_product_detail_garbage_ledger_page_does_not_fail(staff_client, level, product):
    response = staff_client.get(product.get_absolute_url(), {"page": "abc"})
    assert response.status_code == 200
    assert response.context["ledger"].page.number == 1
    response = staff_client.get(product.get_absolute_url(), {"page": "99"})
    assert response.status_code == 200


# The product page, whatever the length of its ledger and queue:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions
#  4. SELECT the user's group permissions
#  5. SELECT the product
#  6. SELECT its levels with backordered / on order / projected (stock_overview)
#  7. SELECT its waiting lines with order, customer, warehouse (backorder_lines)
#  8. SELECT the queue rows for the ETAs (line_etas)
#  9. SELECT on hand / allocated of the levels (line_etas)
# 10. SELECT the open purchase order lines (line_etas → open_supply)
# 11. SELECT COUNT(*) of the ledger (paginator)
# 12. SELECT the supply terms with their suppliers
# 13. SELECT one page of the ledger with warehouse and user
PRODUCT_DETAIL_QUERIES = 13


@pytest.mark.parametrize("rows", [3, 25])
def test_product_detail_query_count_does_not_grow_with_ledger_or_queue(
    staff_client, staff_user, product, warehouse, rows, django_assert_num_queries
):
    for _ in range(rows):
        give_stock(product, warehouse, 1, by=staff_user)
    for _ in range(rows):
        place(CustomerFactory(), warehouse, [(product, 2)], by=staff_user)
    sent_po(SupplierFactory(), warehouse, [(product, 5)], by=staff_user)
    SupplierProductFactory(product=product)
    with django_assert_num_queries(PRODUCT_DETAIL_QUERIES):
        response = staff_client.get(product.get_absolute_url())
    assert len(response.context["queues"][0]["lines"]) >= rows - rows // 2


# --- chart -----------------------------------------------------------------------------------


def test_product_chart_is_an_svg_with_labelled_lines_and_axes(
    staff_client, staff_user, level, product, warehouse
):
    safety_stock_set(level_ids=[level.pk], value=6, by=staff_user)
    url = reverse("inventory:product-chart", args=[product.pk])
    response = staff_client.get(url, {"warehouse": warehouse.pk})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "On hand 10" in svg
    assert "Safety stock 6" in svg
    assert 'class="series"' in svg
    assert 'class="safety"' in svg
    assert 'stroke-dasharray="6 4"' in svg  # told apart without colour
    assert "WIDGET-1 at MAIN" in svg
    assert "style=" not in svg


def test_product_chart_without_a_warehouse_adds_up_every_level(
    staff_client, staff_user, level, product, other_warehouse
):
    give_stock(product, other_warehouse, 5, by=staff_user)
    response = staff_client.get(reverse("inventory:product-chart", args=[product.pk]))
    assert "On hand 15" in response.content.decode()


def test_product_chart_escapes_text(staff_client, staff_user, warehouse):
    nasty = ProductFactory(sku="<script>x</script>")
    give_stock(nasty, warehouse, 1, by=staff_user)
    response = staff_client.get(reverse("inventory:product-chart", args=[nasty.pk]))
    assert "<script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


@pytest.mark.parametrize("warehouse_param", ["abc", "-1", "999999", "1.5"])
def test_product_chart_with_a_bad_warehouse_is_404(staff_client, level, product, warehouse_param):
    url = reverse("inventory:product-chart", args=[product.pk])
    assert staff_client.get(url, {"warehouse": warehouse_param}).status_code == 404


def test_product_chart_of_an_unknown_product_is_404(staff_client):
    assert staff_client.get(reverse("inventory:product-chart", args=[999999])).status_code == 404
