"""Orders pages: order list, detail, create, ship, cancel, line cancel, backorder queue, customers.

Every refused input must show a clear message on the page AND leave the database unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from inventory.models import StockLevel, StockMovement
from orders.models import Allocation, Customer, OrderLine, Priority, SalesOrder, SalesOrderStatus
from orders.services import order_place
from suppliers.services import purchase_order_create, purchase_order_send
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import csv_rows, give_stock, place

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def snapshot():
    """Every quantity and row count an order action could change."""
    return (
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated")),
        list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "quantity_allocated", "quantity_shipped", "quantity_cancelled"
            )
        ),
        list(SalesOrder.objects.order_by("pk").values_list("pk", "status")),
        Allocation.objects.count(),
        StockMovement.objects.count(),
        Customer.objects.count(),
    )


@pytest.fixture
def order_ready(staff_user, warehouse, product, customer):
    """An order fully allocated: 5 of WIDGET-1 from 10 on the shelf."""
    give_stock(product, warehouse, 10, by=staff_user)
    return place(customer, warehouse, [(product, 5)], by=staff_user, ref="PO-ACME-1")


@pytest.fixture
def order_waiting(staff_user, warehouse, product, customer):
    """An order with 3 allocated and 4 backordered (3 on the shelf)."""
    give_stock(product, warehouse, 3, by=staff_user)
    return place(customer, warehouse, [(product, 7)], by=staff_user)


# --- who may open what ------------------------------------------------------------------------


def _urls(order, line):
    return [
        ("get", reverse("orders:order-list")),
        ("get", reverse("orders:backorder-list")),
        ("get", reverse("orders:order-detail", args=[order.pk])),
        ("get", reverse("orders:order-create")),
        ("post", reverse("orders:order-create")),
        ("get", reverse("orders:product-lookup") + "?q=W"),
        ("get", reverse("orders:order-ship", args=[order.pk])),
        ("post", reverse("orders:order-ship", args=[order.pk])),
        ("get", reverse("orders:order-cancel", args=[order.pk])),
        ("post", reverse("orders:order-cancel", args=[order.pk])),
        ("get", reverse("orders:orderline-cancel", args=[line.pk])),
        ("post", reverse("orders:orderline-cancel", args=[line.pk])),
        ("get", reverse("orders:order-import")),
        ("post", reverse("orders:order-import")),
        ("get", reverse("orders:customer-create")),
        ("post", reverse("orders:customer-create")),
    ]


def test_anonymous_users_are_sent_to_sign_in(client, order_waiting):
    line = order_waiting.lines.get()
    before = snapshot()
    for method, url in _urls(order_waiting, line):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    assert snapshot() == before


def test_signed_in_users_without_the_role_get_403(client, order_waiting):
    client.force_login(UserFactory(username="no-role"))
    line = order_waiting.lines.get()
    before = snapshot()
    for method, url in _urls(order_waiting, line):
        assert getattr(client, method)(url, {"reason": "x"}).status_code == 403, url
    assert snapshot() == before


def test_viewing_orders_does_not_allow_acting_on_them(client, order_ready):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orders", codename__in=["view_salesorder", "view_orderline"]
        )
    )
    client.force_login(viewer)
    line = order_ready.lines.get()
    assert client.get(reverse("orders:order-list")).status_code == 200
    assert client.get(reverse("orders:order-detail", args=[order_ready.pk])).status_code == 200
    before = snapshot()
    assert client.post(reverse("orders:order-ship", args=[order_ready.pk])).status_code == 403
    assert (
        client.post(reverse("orders:order-cancel", args=[order_ready.pk]), {"reason": "x"})
    ).status_code == 403
    assert (
        client.post(reverse("orders:orderline-cancel", args=[line.pk]), {"reason": "x"})
    ).status_code == 403
    assert client.get(reverse("orders:order-create")).status_code == 403
    assert client.get(reverse("orders:order-import")).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("name", ["order-detail", "order-ship", "order-cancel", "orderline-cancel"])
def test_unknown_ids_are_404_not_500(staff_client, name):
    assert staff_client.get(reverse(f"orders:{name}", args=[999999])).status_code == 404
    # The detail page is read-only: POST is not allowed there, never a server error.
    expected = 405 if name == "order-detail" else 404
    assert staff_client.post(reverse(f"orders:{name}", args=[999999])).status_code == expected


def test_garbage_ids_in_urls_do_not_resolve(staff_client):
    assert staff_client.get("/orders/abc/").status_code == 404
    assert staff_client.get("/orders/-1/ship/").status_code == 404
    huge = "9" * 25
    assert staff_client.get(f"/orders/{huge}/").status_code == 404
    assert staff_client.post(f"/orders/lines/{huge}/cancel/", {"reason": "x"}).status_code == 404
    assert staff_client.get(reverse("orders:order-create"), {"customer": huge}).status_code == 200
    assert (
        staff_client.get(reverse("orders:order-create"), {"customer": "9" * 5000}).status_code
        == 200
    )


def test_order_line_inputs_have_accessible_names(staff_client):
    html = staff_client.get(reverse("orders:order-create")).content.decode()
    sku_inputs = re.findall(r'<input[^>]*name="lines-\d+-sku"[^>]*>', html)
    quantity_inputs = re.findall(r'<input[^>]*name="lines-\d+-quantity"[^>]*>', html)
    assert sku_inputs
    assert quantity_inputs
    assert all('aria-label="SKU"' in tag for tag in sku_inputs)
    assert all('aria-label="Quantity"' in tag for tag in quantity_inputs)


# --- order list ---------------------------------------------------------------------------------


def test_order_list_shows_orders_with_their_totals(staff_client, order_waiting):
    response = staff_client.get(reverse("orders:order-list"))
    assertContains(response, order_waiting.number)
    assertContains(response, reverse("orders:order-detail", args=[order_waiting.pk]))
    assertContains(response, "Acme Hardware")
    assertContains(response, "Waiting for stock")
    rows = {row.record.pk: row.record for row in response.context["table"].page.object_list}
    record = rows[order_waiting.pk]
    assert (record.units_ordered, record.units_allocated, record.units_backordered) == (7, 3, 4)


def test_order_list_orders_placed_at_the_same_moment_newest_id_first(
    staff_client, warehouse, product, customer
):
    moment = timezone.now() - dt.timedelta(hours=1)
    placed = [
        order_place(
            customer_id=customer.pk,
            warehouse_id=warehouse.pk,
            lines=[(product.pk, 1)],
            by=None,
            placed_at=moment,
        )
        for _ in range(3)
    ]
    url = reverse("orders:order-list")
    newest_first = [row.record.pk for row in staff_client.get(url).context["table"].rows]
    assert newest_first == [order.pk for order in reversed(placed)]
    oldest_first = staff_client.get(url, {"sort": "placed_at"}).context["table"].rows
    assert [row.record.pk for row in oldest_first] == [order.pk for order in placed]


def test_order_list_filters_by_status_as_linked_from_home(
    staff_client, order_ready, staff_user, warehouse
):
    other = ProductFactory(sku="GADGET-9")
    waiting = place(CustomerFactory(), warehouse, [(other, 2)], by=staff_user)
    response = staff_client.get(reverse("orders:order-list"), {"status": "ready"})
    assertContains(response, order_ready.number)
    assertNotContains(response, waiting.number)
    response = staff_client.get(reverse("orders:order-list"), {"status": "open"})
    assertContains(response, order_ready.number)
    assertContains(response, waiting.number)


def test_order_list_filters_by_customer_warehouse_and_search(
    staff_client, staff_user, warehouse, product
):
    north = WarehouseFactory(code="NTH")
    first = place(CustomerFactory(name="Bolt Brothers"), warehouse, [(product, 1)], by=staff_user)
    second = place(
        CustomerFactory(name="Nuts Ltd"), north, [(product, 1)], by=staff_user, ref="X-77"
    )
    url = reverse("orders:order-list")
    response = staff_client.get(url, {"customer": "bolt"})
    assertContains(response, first.number)
    assertNotContains(response, second.number)
    response = staff_client.get(url, {"warehouse": north.pk})
    assertContains(response, second.number)
    assertNotContains(response, first.number)
    response = staff_client.get(url, {"search": "x-77"})
    assertContains(response, second.number)
    assertNotContains(response, first.number)
    response = staff_client.get(url, {"search": first.number})
    assertContains(response, first.number)
    assertNotContains(response, second.number)


def test_order_list_filters_by_age(staff_client, staff_user, warehouse, product, customer):
    fresh = place(customer, warehouse, [(product, 1)], by=staff_user, days_ago=2, ref="fresh")
    month = place(customer, warehouse, [(product, 1)], by=staff_user, days_ago=20, ref="month")
    old = place(customer, warehouse, [(product, 1)], by=staff_user, days_ago=100, ref="old")
    url = reverse("orders:order-list")

    def shown(params):
        response = staff_client.get(url, params)
        return {row.record.pk for row in response.context["table"].page.object_list}

    assert shown({"placed_within": "7"}) == {fresh.pk}
    assert shown({"placed_within": "30"}) == {fresh.pk, month.pk}
    assert shown({"placed_within": "90"}) == {fresh.pk, month.pk}
    assert shown({"older_than": "30"}) == {old.pk}
    assert shown({"older_than": "10"}) == {month.pk, old.pk}


@pytest.mark.parametrize(
    "params",
    [
        {"older_than": "abc"},
        {"older_than": "-3"},
        {"older_than": "1.5"},
        {"warehouse": "999999"},
        {"warehouse": "9" * 25},
        {"warehouse": "abc"},
        {"status": "nonsense"},
        {"placed_within": "12"},
        {"priority": "9"},
        {"page": "abc"},
        {"sort": "nonexistent"},
    ],
)
def test_order_list_bad_filters_show_a_message_not_500(staff_client, order_ready, params):
    response = staff_client.get(reverse("orders:order-list"), params)
    assert response.status_code in (200, 404)
    if response.status_code == 200 and set(params) - {"page", "sort"}:
        assert response.context["filter"].errors


def test_order_list_query_count_does_not_grow_with_rows(
    client, staff_user, warehouse, django_assert_num_queries
):
    client.force_login(staff_user)
    products = [ProductFactory() for _ in range(3)]
    customer = CustomerFactory()

    def add_orders(count):
        for i in range(count):
            place(customer, warehouse, [(products[i % 3], 1), (products[(i + 1) % 3], 2)], by=None)

    url = reverse("orders:order-list")
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 COUNT of the orders alone
    # for the paginator, 6 the page of orders with customer and warehouse joined and the line
    # totals as correlated subqueries (worked out for the page's rows only), 7 warehouses for
    # the filter's select.
    add_orders(3)
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 200
    add_orders(22)
    with django_assert_num_queries(7):
        response = client.get(url)
    assert len(response.context["table"].page.object_list) == 25


def test_order_list_csv_export_keeps_the_filters(staff_client, staff_user, warehouse, product):
    first = place(CustomerFactory(name="Bolt Brothers"), warehouse, [(product, 2)], by=staff_user)
    second = place(CustomerFactory(name="Nuts Ltd"), warehouse, [(product, 3)], by=staff_user)
    response = staff_client.get(
        reverse("orders:order-list"), {"customer": "nuts", "_export": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0][:3] == ["Order", "Placed", "Customer"]
    assert [row[0] for row in rows[1:]] == [second.number]
    assert first.number not in str(rows)
    assert "Waiting for stock" in rows[1]


def test_order_list_offers_the_csv_link_with_current_filters(staff_client, order_ready):
    response = staff_client.get(reverse("orders:order-list"), {"status": "ready"})
    assertContains(response, 'href="?status=ready&_export=csv"')


# --- order detail -------------------------------------------------------------------------------


def test_order_detail_shows_lines_eta_and_allocation_history(
    staff_client, staff_user, order_waiting, product, warehouse
):
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=9),
        lines=[(product.pk, 10, "2.00")],
        by=staff_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=staff_user)
    response = staff_client.get(reverse("orders:order-detail", args=[order_waiting.pk]))
    line = response.context["lines"][0]
    assert (line.quantity_allocated, line.quantity_backordered) == (3, 4)
    expected = f"{timezone.localdate() + dt.timedelta(days=9):%d %b %Y}"
    assert line.eta.label == expected
    assertContains(response, expected)
    assertContains(response, po.number)
    history = list(response.context["allocations"])
    assert [(a.kind, a.quantity) for a in history] == [("placement", 3)]
    assertContains(response, "Allocated when placed")
    assertContains(response, reverse("orders:order-ship", args=[order_waiting.pk]))
    assertContains(response, reverse("orders:order-cancel", args=[order_waiting.pk]))


def test_order_detail_says_when_no_supply_is_ordered(staff_client, order_waiting):
    response = staff_client.get(reverse("orders:order-detail", args=[order_waiting.pk]))
    assertContains(response, "No supply ordered")


def test_order_detail_names_the_release_and_shipment_that_gave_stock(
    staff_client, staff_user, order_waiting, product, warehouse
):
    from orders.services import release_confirm, release_propose
    from suppliers.services import shipment_receive

    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 4, "2.00")],
        by=staff_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=staff_user)
    po_line = po.lines.get()
    shipment = shipment_receive(
        purchase_order_id=po.pk, quantities={po_line.pk: 4}, idempotency_key="k-1", by=staff_user
    ).shipment
    plan = release_propose(
        warehouse_id=warehouse.pk, product_ids=[product.pk], shipment_id=shipment.pk
    )
    release = release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=[product.pk],
        fingerprint=plan.fingerprint,
        decisions=[{"line_id": p.line_id, "quantity": p.quantity} for p in plan.products[0].lines],
        by=staff_user,
        shipment_id=shipment.pk,
    ).release
    response = staff_client.get(reverse("orders:order-detail", args=[order_waiting.pk]))
    assertContains(response, release.number)
    assertContains(response, shipment.number)
    assertContains(response, "Ready to ship")


# --- create -------------------------------------------------------------------------------------


def _create_get(client, **params):
    response = client.get(reverse("orders:order-create"), params)
    assert response.status_code == 200
    return response.context["once_token"]


def _create_data(token, customer, warehouse, lines, extra=None):
    data = {
        "once_token": token,
        "customer": customer.pk,
        "warehouse": warehouse.pk,
        "priority": Priority.NORMAL,
        "customer_reference": "REF-1",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
    }
    for i, (sku, qty) in enumerate(lines):
        data[f"lines-{i}-sku"] = sku
        data[f"lines-{i}-quantity"] = qty
    data.update(extra or {})
    return data


def test_create_form_renders_with_token_and_sku_suggestions(staff_client, customer):
    response = staff_client.get(reverse("orders:order-create"), {"customer": customer.pk})
    token = response.context["once_token"]
    assertContains(response, f'name="once_token" value="{token}"')
    assertContains(response, 'list="sku-options"')
    assertContains(response, reverse("orders:product-lookup"))
    assertContains(response, "js/orders.js")
    assert response.context["form"]["customer"].value() == customer.name
    assertContains(response, f'value="{customer.name}"')
    assertContains(response, 'list="customer-options"')
    assertContains(response, f'hx-get="{reverse("orders:customer-lookup")}"')


def test_placing_an_order_allocates_what_is_free_and_backorders_the_rest(
    staff_client, staff_user, warehouse, product, customer
):
    gadget = ProductFactory(sku="GADGET-2")
    give_stock(product, warehouse, 10, by=staff_user)
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(token, customer, warehouse, [("widget-1", "4"), ("GADGET-2", "6"), ("", "")]),
        follow=True,
    )
    order = SalesOrder.objects.get()
    assertRedirects(response, reverse("orders:order-detail", args=[order.pk]))
    assertContains(response, f"{order.number} placed: 1 line allocated, 1 backordered.")
    assert order.customer_reference == "REF-1"
    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    assert (lines["WIDGET-1"].quantity_allocated, lines["WIDGET-1"].quantity_backordered) == (4, 0)
    assert (lines["GADGET-2"].quantity_allocated, lines["GADGET-2"].quantity_backordered) == (0, 6)
    assert gadget.pk == lines["GADGET-2"].product_id


def test_a_second_post_with_the_same_token_places_nothing_twice(
    staff_client, staff_user, warehouse, product, customer
):
    token = _create_get(staff_client)
    data = _create_data(token, customer, warehouse, [("WIDGET-1", "2")])
    first = staff_client.post(reverse("orders:order-create"), data)
    order = SalesOrder.objects.get()
    assertRedirects(first, order.get_absolute_url(), fetch_redirect_response=False)
    second = staff_client.post(reverse("orders:order-create"), data, follow=True)
    assertRedirects(second, order.get_absolute_url())
    assertContains(second, "already placed")
    assert SalesOrder.objects.count() == 1
    assert OrderLine.objects.count() == 1


def test_a_fresh_token_places_a_second_order(staff_client, warehouse, product, customer):
    for _ in range(2):
        token = _create_get(staff_client)
        staff_client.post(
            reverse("orders:order-create"),
            _create_data(token, customer, warehouse, [("WIDGET-1", "2")]),
        )
    assert SalesOrder.objects.count() == 2


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "at least 1"),
        ("-4", "at least 1"),
        ("1.5", "whole number"),
        ("abc", "whole number"),
        ("1000000001", "1000000000 is the most"),
        ("", "Enter a quantity for this SKU"),
    ],
)
def test_create_refuses_bad_quantities(
    staff_client, staff_user, warehouse, product, customer, quantity, message
):
    give_stock(product, warehouse, 10, by=staff_user)
    before = snapshot()
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(token, customer, warehouse, [("WIDGET-1", quantity)]),
    )
    assert response.status_code == 200
    assertContains(response, message)
    assert snapshot() == before


def test_create_reports_an_unknown_sku_on_its_line(staff_client, warehouse, product, customer):
    before = snapshot()
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(token, customer, warehouse, [("WIDGET-1", "1"), ("NOPE-404", "2")]),
    )
    formset = response.context["formset"]
    assert not formset.forms[0].errors
    assert "Unknown SKU “NOPE-404”." in formset.forms[1].errors["sku"]
    assertContains(response, "Unknown SKU")
    assert snapshot() == before


def test_create_reports_unknown_skus_and_bad_quantities_together(
    staff_client, warehouse, product, customer
):
    before = snapshot()
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(token, customer, warehouse, [("NOPE-404", "2"), ("WIDGET-1", "1.5")]),
    )
    formset = response.context["formset"]
    assert "Unknown SKU “NOPE-404”." in formset.forms[0].errors["sku"]
    assert "quantity" in formset.forms[1].errors
    assert snapshot() == before


def test_create_refuses_an_inactive_or_repeated_sku(staff_client, warehouse, product, customer):
    ProductFactory(sku="OLD-1", is_active=False)
    before = snapshot()
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(
            token, customer, warehouse, [("WIDGET-1", "1"), ("widget-1", "2"), ("old-1", "1")]
        ),
    )
    formset = response.context["formset"]
    assert "already on line 1" in formset.forms[1].errors["sku"][0]
    assert "inactive" in formset.forms[2].errors["sku"][0]
    assert snapshot() == before


def test_create_needs_at_least_one_line(staff_client, warehouse, customer):
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"), _create_data(token, customer, warehouse, [("", "")])
    )
    assertContains(response, "Enter at least one line")
    assert not SalesOrder.objects.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"customer": "999999"},
        {"customer": "9" * 25},
        {"customer": "abc"},
        {"warehouse": ""},
        {"priority": "7"},
        {"lines-TOTAL_FORMS": "abc"},
        {"lines-TOTAL_FORMS": "100000"},
    ],
)
def test_create_refuses_garbage_ids_and_tampered_forms(
    staff_client, warehouse, product, customer, override
):
    token = _create_get(staff_client)
    data = _create_data(token, customer, warehouse, [("WIDGET-1", "1")], override)
    response = staff_client.post(reverse("orders:order-create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors or response.context["formset"].non_form_errors()
    assert not SalesOrder.objects.exists()


def test_create_refuses_an_inactive_customer(staff_client, warehouse, product):
    gone = CustomerFactory(is_active=False)
    token = _create_get(staff_client)
    response = staff_client.post(
        reverse("orders:order-create"), _create_data(token, gone, warehouse, [("WIDGET-1", "1")])
    )
    assertContains(response, f"{gone.name} (#{gone.pk}) is an inactive customer")
    assert not SalesOrder.objects.exists()


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 32])
def test_create_without_a_valid_token_places_nothing(
    staff_client, warehouse, product, customer, token
):
    response = staff_client.post(
        reverse("orders:order-create"),
        _create_data(token, customer, warehouse, [("WIDGET-1", "1")]),
    )
    assertContains(response, "submit it again")
    assert not SalesOrder.objects.exists()
    # The page carries a fresh token, so submitting it again works.
    assert response.context["once_token"] != token


def test_sku_lookup_returns_matching_options(staff_client, product):
    ProductFactory(sku="GADGET-2", name="Green gadget")
    ProductFactory(sku="WIDGET-OLD", is_active=False)
    response = staff_client.get(reverse("orders:product-lookup"), {"q": "wid"})
    assertContains(response, '<option value="WIDGET-1">Blue widget</option>', html=True)
    assertNotContains(response, "GADGET-2")
    assertNotContains(response, "WIDGET-OLD")
    response = staff_client.get(reverse("orders:product-lookup"), {"q": "green"})
    assertContains(response, "GADGET-2")
    assert staff_client.get(reverse("orders:product-lookup")).content.strip() == b""


# --- ship ---------------------------------------------------------------------------------------


def test_ship_form_is_prefilled_with_what_is_allocated(staff_client, order_waiting):
    response = staff_client.get(reverse("orders:order-ship", args=[order_waiting.pk]))
    line = order_waiting.lines.get()
    assertContains(response, f'name="line_{line.pk}"')
    assert response.context["form"][f"line_{line.pk}"].value() == 3


def test_shipping_part_of_an_order(staff_client, order_ready, product, warehouse):
    line = order_ready.lines.get()
    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {f"line_{line.pk}": "2"}, follow=True
    )
    assertRedirects(response, order_ready.get_absolute_url())
    assertContains(response, f"Shipped 2 units on {order_ready.number}")
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_shipped) == (3, 2)
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert (level.on_hand, level.allocated) == (8, 3)


def test_shipping_everything_allocated(staff_client, order_ready):
    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {"ship_all": "1"}, follow=True
    )
    assertContains(response, "it is now shipped")
    order_ready.refresh_from_db()
    assert order_ready.status == SalesOrderStatus.SHIPPED


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("6", "Only 5 are allocated"),
        ("-1", "cannot be negative"),
        ("1.5", "whole number"),
        ("abc", "whole number"),
        ("0", "at least one line"),
        ("99999999999", "Only 5 are allocated"),
    ],
)
def test_ship_refuses_bad_quantities(staff_client, order_ready, quantity, message):
    line = order_ready.lines.get()
    before = snapshot()
    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {f"line_{line.pk}": quantity}
    )
    assert response.status_code == 200
    assertContains(response, message)
    assert snapshot() == before


def test_ship_ignores_lines_of_other_orders(staff_client, order_ready, staff_user, warehouse):
    other = place(CustomerFactory(), warehouse, [(ProductFactory(), 1)], by=staff_user)
    other_line = other.lines.get()
    before = snapshot()
    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {f"line_{other_line.pk}": "1"}
    )
    # Only the order's own lines are fields; everything else is ignored, so nothing is entered.
    assertContains(response, "at least one line")
    assert snapshot() == before


def test_ship_refuses_a_shipped_or_cancelled_order(staff_client, order_ready, staff_user):
    from orders.services import order_cancel

    order_cancel(order_id=order_ready.pk, reason="Customer went elsewhere", by=staff_user)
    before = snapshot()
    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {"ship_all": "1"}
    )
    assertContains(response, "is cancelled; it cannot be shipped")
    assert snapshot() == before
    response = staff_client.get(reverse("orders:order-ship", args=[order_ready.pk]), follow=True)
    assertContains(response, "nothing to do")


def test_ship_all_with_nothing_allocated_says_so(staff_client, staff_user, warehouse, customer):
    order = place(customer, warehouse, [(ProductFactory(), 2)], by=staff_user)
    before = snapshot()
    response = staff_client.post(reverse("orders:order-ship", args=[order.pk]), {"ship_all": "1"})
    assertContains(response, "is allocated yet")
    assert snapshot() == before


# --- cancel -------------------------------------------------------------------------------------


def test_cancelling_an_order_frees_stock_and_offers_a_release_to_those_waiting(
    staff_client, staff_user, order_ready, product, warehouse
):
    waiting = place(CustomerFactory(name="Next In Line"), warehouse, [(product, 8)], by=staff_user)
    response = staff_client.post(
        reverse("orders:order-cancel", args=[order_ready.pk]),
        {"reason": "Customer went elsewhere"},
        follow=True,
    )
    assertRedirects(response, order_ready.get_absolute_url())
    assertContains(response, f"{order_ready.number} cancelled.")
    assertContains(response, "5 units freed; other orders wait for WIDGET-1")
    release_url = (
        f"{reverse('orders:release-review')}?warehouse={warehouse.pk}&amp;product={product.pk}"
    )
    assertContains(response, release_url)
    order_ready.refresh_from_db()
    assert order_ready.status == SalesOrderStatus.CANCELLED
    assert order_ready.cancel_reason == "Customer went elsewhere"
    # Freed stock belongs to the queue: nothing is given to the waiting order without a release.
    assert waiting.lines.get().quantity_allocated == 5


def test_cancelling_with_nobody_waiting_says_the_stock_went_back(
    staff_client, order_ready, warehouse
):
    response = staff_client.post(
        reverse("orders:order-cancel", args=[order_ready.pk]), {"reason": "Duplicate"}, follow=True
    )
    assertContains(response, "5 units went back to stock; nobody is waiting for them.")
    assertNotContains(response, "Review the release")


def test_cancel_needs_a_reason(staff_client, order_ready):
    before = snapshot()
    response = staff_client.post(
        reverse("orders:order-cancel", args=[order_ready.pk]), {"reason": "   "}
    )
    assertContains(response, "This field is required")
    assert snapshot() == before


def test_cancel_refuses_a_closed_order(staff_client, order_ready, staff_user):
    from orders.services import order_ship

    order_ship(order_id=order_ready.pk, by=staff_user)
    before = snapshot()
    response = staff_client.post(
        reverse("orders:order-cancel", args=[order_ready.pk]), {"reason": "Too late"}
    )
    assertContains(response, "is shipped; it cannot be cancelled")
    assert snapshot() == before


def test_cancel_page_of_a_closed_order_redirects_with_a_message(
    staff_client, order_ready, staff_user
):
    from orders.services import order_ship

    order_ship(order_id=order_ready.pk, by=staff_user)
    response = staff_client.get(reverse("orders:order-cancel", args=[order_ready.pk]), follow=True)
    assertRedirects(response, order_ready.get_absolute_url())
    assertContains(response, "is shipped; nothing to do")


# --- cancel one line (from the backorder queue) -------------------------------------------------


def test_cancelling_a_waiting_line_returns_to_the_queue_with_a_release_offer(
    staff_client, staff_user, order_waiting, product, warehouse
):
    behind = place(CustomerFactory(name="Behind"), warehouse, [(product, 2)], by=staff_user)
    line = order_waiting.lines.get()
    back = reverse("orders:backorder-list") + "?sku=WIDGET"
    page = staff_client.get(reverse("orders:orderline-cancel", args=[line.pk]), {"next": back})
    assertContains(page, 'name="next" value="/backorders/?sku=WIDGET"')
    response = staff_client.post(
        reverse("orders:orderline-cancel", args=[line.pk]),
        {"reason": "Customer gave up", "next": back},
        follow=True,
    )
    assertRedirects(response, back)
    assertContains(response, f"WIDGET-1 on {order_waiting.number} cancelled.")
    assertContains(response, "3 units freed; other orders wait for WIDGET-1")
    assertContains(response, f"product={product.pk}")
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_cancelled) == (0, 7)
    assert line.cancel_reason == "Customer gave up"
    assert behind.lines.get().quantity_backordered == 2


def test_line_cancel_ignores_an_offsite_next(staff_client, order_waiting):
    line = order_waiting.lines.get()
    response = staff_client.post(
        reverse("orders:orderline-cancel", args=[line.pk]),
        {"reason": "Gave up", "next": "https://evil.example.com/"},
    )
    assertRedirects(response, order_waiting.get_absolute_url(), fetch_redirect_response=False)


def test_line_cancel_needs_a_reason_and_an_open_line(staff_client, order_ready, staff_user):
    from orders.services import order_ship

    line = order_ready.lines.get()
    before = snapshot()
    response = staff_client.post(reverse("orders:orderline-cancel", args=[line.pk]), {"reason": ""})
    assertContains(response, "This field is required")
    assert snapshot() == before
    order_ship(order_id=order_ready.pk, by=staff_user)
    before = snapshot()
    response = staff_client.post(
        reverse("orders:orderline-cancel", args=[line.pk]), {"reason": "Gave up"}
    )
    assertContains(response, "is shipped; it cannot be changed")
    assert snapshot() == before


# --- backorders ---------------------------------------------------------------------------------


@pytest.fixture
def queue(staff_user, warehouse, product):
    """Three waiting lines for WIDGET-1 at MAIN: urgent 20 days old, normal 40 days, normal 3."""
    old = place(
        CustomerFactory(name="Old Normal"), warehouse, [(product, 4)], by=staff_user, days_ago=40
    )
    urgent = place(
        CustomerFactory(name="Urgent Co"),
        warehouse,
        [(product, 2)],
        by=staff_user,
        priority=Priority.URGENT,
        days_ago=20,
    )
    new = place(
        CustomerFactory(name="New Normal"), warehouse, [(product, 5)], by=staff_user, days_ago=3
    )
    return {"old": old, "urgent": urgent, "new": new}


def _records(response):
    return [row.record for row in response.context["table"].page.object_list]


def test_backorder_queue_shows_position_age_bucket_and_eta(
    staff_client, staff_user, queue, product, warehouse
):
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=5),
        lines=[(product.pk, 6, "2.00")],
        by=staff_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=staff_user)
    response = staff_client.get(reverse("orders:backorder-list"))
    records = _records(response)
    assert [r.order_id for r in records] == [queue["urgent"].pk, queue["old"].pk, queue["new"].pk]
    assert [r.position for r in records] == [1, 2, 3]
    table = response.context["table"]
    due = f"{timezone.localdate() + dt.timedelta(days=5):%d %b %Y}"
    assert table.etas[records[0].pk].label == due
    assert table.etas[records[1].pk].label == due
    assert table.etas[records[2].pk].label == "No supply ordered"
    assertContains(response, due)
    assertContains(response, "&gt; 30 days")
    assertContains(response, "15–30 days")
    buckets = {b["key"]: (b["lines"], b["units"]) for b in response.context["buckets"]}
    assert buckets == {"0-7": (1, 5), "8-14": (0, 0), "15-30": (1, 2), "31+": (1, 4)}
    assertContains(response, reverse("orders:orderline-cancel", args=[records[0].pk]))


def test_queue_position_counts_the_whole_queue_when_filtered(staff_client, queue):
    response = staff_client.get(reverse("orders:backorder-list"), {"customer": "new normal"})
    records = _records(response)
    assert [(r.order_id, r.position) for r in records] == [(queue["new"].pk, 3)]


def test_backorder_filters(staff_client, staff_user, queue, warehouse):
    gadget = ProductFactory(sku="GADGET-7")
    north = WarehouseFactory(code="NTH")
    elsewhere = place(CustomerFactory(name="Far Away"), north, [(gadget, 1)], by=staff_user)
    url = reverse("orders:backorder-list")

    def shown(params):
        return {r.order_id for r in _records(staff_client.get(url, params))}

    assert shown({"sku": "gadget"}) == {elsewhere.pk}
    assert shown({"warehouse": north.pk}) == {elsewhere.pk}
    assert shown({"customer": "urgent"}) == {queue["urgent"].pk}
    assert shown({"age": "31+"}) == {queue["old"].pk}
    assert shown({"age": "0-7"}) == {queue["new"].pk, elsewhere.pk}
    assert shown({"age": "8-14"}) == set()
    assert shown({"priority": Priority.URGENT}) == {queue["urgent"].pk}


def test_bucket_counts_follow_other_filters_but_not_the_bucket(staff_client, queue):
    response = staff_client.get(
        reverse("orders:backorder-list"), {"age": "31+", "customer": "normal"}
    )
    buckets = {b["key"]: (b["lines"], b["selected"]) for b in response.context["buckets"]}
    assert buckets == {
        "0-7": (1, False),
        "8-14": (0, False),
        "15-30": (0, False),
        "31+": (1, True),
    }
    # Each bucket links to the same filters with that bucket chosen.
    assert "customer=normal" in response.context["buckets"][0]["url"]
    assert "age=0-7" in response.context["buckets"][0]["url"]


@pytest.mark.parametrize(
    "params",
    [
        {"age": "99"},
        {"warehouse": "abc"},
        {"warehouse": "9" * 25},
        {"priority": "x"},
        {"sort": "eta"},
    ],
)
def test_backorder_bad_filters_do_not_break_the_page(staff_client, queue, params):
    response = staff_client.get(reverse("orders:backorder-list"), params)
    assert response.status_code == 200


def test_backorder_queue_query_count_does_not_grow_with_rows(
    client, staff_user, warehouse, django_assert_num_queries
):
    client.force_login(staff_user)
    products = [ProductFactory() for _ in range(3)]
    customer = CustomerFactory()

    def add_waiting(count):
        for i in range(count):
            place(customer, warehouse, [(products[i % 3], 2)], by=None, days_ago=i)

    url = reverse("orders:backorder-list")
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the aging buckets' lines
    # and units (one aggregate, whose line totals are also the paginator's count), 6 the page of
    # lines with order, customer, warehouse, product and queue position (a subquery), 7-9
    # line_etas for the page's rows: their queues, stock levels and open supply, 10 warehouses
    # for the filter's select.
    add_waiting(3)
    with django_assert_num_queries(10):
        assert client.get(url).status_code == 200
    add_waiting(22)
    with django_assert_num_queries(10):
        response = client.get(url)
    assert len(_records(response)) == 25


@pytest.mark.parametrize("age", ["", "0-7", "8-14", "31+"])
def test_backorder_pages_count_the_lines_listed(staff_client, warehouse, age):
    products = [ProductFactory() for _ in range(3)]
    customer = CustomerFactory()
    for i in range(60):
        place(customer, warehouse, [(products[i % 3], 1)], by=None, days_ago=i)
    params = {"age": age} if age else {}
    response = staff_client.get(reverse("orders:backorder-list"), params)
    table = response.context["table"]
    expected = {"": 60, "0-7": 8, "8-14": 7, "31+": 29}[age]
    assert table.paginator.count == expected
    assert len(table.page.object_list) == min(50, expected)
    if expected > 50:
        last = staff_client.get(reverse("orders:backorder-list"), {**params, "page": 2})
        assert len(last.context["table"].page.object_list) == expected - 50


def test_backorder_csv_export_returns_the_filtered_rows_with_eta(staff_client, queue):
    response = staff_client.get(
        reverse("orders:backorder-list"), {"customer": "normal", "_export": "csv"}
    )
    rows = csv_rows(response)
    header = rows[0]
    assert {"ETA", "Queue position", "Age", "Waiting (days)"} <= set(header)
    assert "" not in header  # the action column is not exported
    numbers = [row[header.index("Order")] for row in rows[1:]]
    assert numbers == [queue["old"].number, queue["new"].number]
    assert {row[header.index("ETA")] for row in rows[1:]} == {"No supply ordered"}
    assert [row[header.index("Queue position")] for row in rows[1:]] == ["2", "3"]


def test_backorder_rows_offer_cancel_only_to_those_allowed(client, queue):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="orders", codename="view_orderline")
    )
    client.force_login(viewer)
    response = client.get(reverse("orders:backorder-list"))
    assert response.status_code == 200
    assertNotContains(response, "Cancel this line")


# --- customers ----------------------------------------------------------------------------------


def test_adding_a_customer_returns_to_the_new_order_with_it_chosen(staff_client):
    response = staff_client.post(
        reverse("orders:customer-create"), {"name": "Zed Supplies", "email": "zed@example.com"}
    )
    customer = Customer.objects.get(name="Zed Supplies")
    assertRedirects(
        response,
        f"{reverse('orders:order-create')}?customer={customer.pk}",
        fetch_redirect_response=False,
    )


def test_customer_names_are_unique_ignoring_case(staff_client, customer):
    before = snapshot()
    response = staff_client.post(reverse("orders:customer-create"), {"name": "ACME hardware"})
    assertContains(response, "already exists")
    response = staff_client.post(reverse("orders:customer-create"), {"name": "  "})
    assertContains(response, "This field is required")
    response = staff_client.post(
        reverse("orders:customer-create"), {"name": "Ok", "email": "not-an-email"}
    )
    assertContains(response, "valid email")
    assert snapshot() == before
