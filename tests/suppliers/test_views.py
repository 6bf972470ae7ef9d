"""Receiving and purchasing pages: lists, the receive form, suppliers, purchase orders."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from inventory.models import StockLevel, StockMovement
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
)
from suppliers.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import csv_rows, page_text, place, today

# --- helpers -------------------------------------------------------------------------------------


def make_po(supplier, warehouse, lines, *, by, expected=None, send=True, cost="2.00"):
    """A purchase order for [(product, quantity), ...], built through the services."""
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=expected or today() + dt.timedelta(days=7),
        lines=[(product.pk, quantity, cost) for product, quantity in lines],
        by=by,
    )
    if send:
        po = purchase_order_send(purchase_order_id=po.pk, by=by)
    return po


def state() -> tuple:
    """Everything receiving or purchasing can change, to prove a refused request changed nothing."""
    return (
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated")),
        StockMovement.objects.count(),
        list(
            PurchaseOrder.objects.order_by("pk").values_list(
                "pk", "status", "cancel_reason", "sent_at"
            )
        ),
        list(
            PurchaseOrderLine.objects.order_by("pk").values_list(
                "pk", "quantity_ordered", "quantity_received", "unit_cost"
            )
        ),
        Shipment.objects.count(),
        ShipmentLine.objects.count(),
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def user_with(*perms):
    user = UserFactory()
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def po(supplier, warehouse, product, manager_user):
    return make_po(supplier, warehouse, [(product, 10)], by=manager_user)


# --- access ------------------------------------------------------------------------------------

ALL_PAGES = [
    ("get", "suppliers:receiving-list", False),
    ("get", "suppliers:receive", True),
    ("post", "suppliers:receive", True),
    ("get", "suppliers:supplier-list", False),
    ("get", "suppliers:supplier-detail", "supplier"),
    ("get", "suppliers:purchaseorder-list", False),
    ("get", "suppliers:purchaseorder-detail", True),
    ("get", "suppliers:purchaseorder-create", False),
    ("post", "suppliers:purchaseorder-create", False),
    ("post", "suppliers:purchaseorder-send", True),
    ("get", "suppliers:purchaseorder-cancel", True),
    ("post", "suppliers:purchaseorder-cancel", True),
]


def _url(name, needs, po, supplier):
    if needs == "supplier":
        return reverse(name, args=[supplier.pk])
    return reverse(name, args=[po.pk]) if needs else reverse(name)


@pytest.mark.parametrize(("method", "name", "needs"), ALL_PAGES)
def test_anonymous_is_sent_to_login(client, po, supplier, method, name, needs):
    url = _url(name, needs, po, supplier)
    before = state()
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert state() == before


@pytest.mark.parametrize(("method", "name", "needs"), ALL_PAGES)
def test_signed_in_without_a_role_gets_403(client, po, supplier, method, name, needs):
    client.force_login(UserFactory(username="no-role"))
    before = state()
    response = getattr(client, method)(_url(name, needs, po, supplier))
    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "suppliers:purchaseorder-create"),
        ("post", "suppliers:purchaseorder-create"),
        ("post", "suppliers:purchaseorder-send"),
        ("get", "suppliers:purchaseorder-cancel"),
        ("post", "suppliers:purchaseorder-cancel"),
    ],
)
def test_warehouse_staff_cannot_create_send_or_cancel_purchase_orders(
    staff_client, po, method, name
):
    url = reverse(name) if name.endswith("create") else reverse(name, args=[po.pk])
    before = state()
    response = getattr(staff_client, method)(url, {"reason": "x"} if method == "post" else None)
    assert response.status_code == 403
    assert state() == before


def test_warehouse_staff_may_view_purchase_orders_and_receive(staff_client, po):
    assert staff_client.get(reverse("suppliers:purchaseorder-list")).status_code == 200
    detail = staff_client.get(reverse("suppliers:purchaseorder-detail", args=[po.pk]))
    assert detail.status_code == 200
    text = page_text(detail)
    assert reverse("suppliers:receive", args=[po.pk]) in text
    assert reverse("suppliers:purchaseorder-send", args=[po.pk]) not in text
    assert reverse("suppliers:purchaseorder-cancel", args=[po.pk]) not in text
    assert staff_client.get(reverse("suppliers:receive", args=[po.pk])).status_code == 200


def test_viewing_purchase_orders_alone_does_not_allow_receiving(client, po):
    client.force_login(user_with("suppliers.view_purchaseorder"))
    assert client.get(reverse("suppliers:receiving-list")).status_code == 200
    before = state()
    response = client.post(reverse("suppliers:receive", args=[po.pk]), {})
    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize(
    "name",
    [
        "suppliers:receive",
        "suppliers:purchaseorder-detail",
        "suppliers:purchaseorder-cancel",
        "suppliers:supplier-detail",
    ],
)
def test_unknown_ids_in_urls_are_404(manager_client, db, name):
    assert manager_client.get(reverse(name, args=[987654])).status_code == 404


def test_send_of_unknown_purchase_order_is_404(manager_client, db):
    assert (
        manager_client.post(reverse("suppliers:purchaseorder-send", args=[987654])).status_code
        == 404
    )


# --- receiving list ----------------------------------------------------------------------------


def test_receiving_list_shows_open_orders_earliest_first_and_flags_overdue(
    staff_client, supplier, warehouse, manager_user
):
    product = ProductFactory()
    later = make_po(
        supplier,
        warehouse,
        [(product, 5)],
        by=manager_user,
        expected=today() + dt.timedelta(days=3),
    )
    overdue = make_po(
        supplier,
        warehouse,
        [(product, 5)],
        by=manager_user,
        expected=today() - dt.timedelta(days=2),
    )
    due_today = make_po(supplier, warehouse, [(product, 5)], by=manager_user, expected=today())
    draft = make_po(supplier, warehouse, [(product, 5)], by=manager_user, send=False)
    cancelled = make_po(supplier, warehouse, [(product, 5)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Discontinued", by=manager_user)

    response = staff_client.get(reverse("suppliers:receiving-list"))

    assert response.status_code == 200
    rows = list(response.context["table"].rows)
    assert [row.record.pk for row in rows] == [overdue.pk, due_today.pk, later.pk]
    assert draft.number not in page_text(response)
    assert cancelled.number not in page_text(response)
    first = rows[0]
    assert first.get_cell_value("due") == "Overdue"
    assert rows[1].get_cell_value("due") == "Due today"
    assert rows[2].get_cell_value("due") == ""
    assert 'class="badge badge-overdue">Overdue' in page_text(response)
    assert reverse("suppliers:receive", args=[overdue.pk]) in page_text(response)


def test_receiving_list_counts_lines_and_units_outstanding(
    staff_client, supplier, warehouse, manager_user
):
    first, second = ProductFactory(), ProductFactory()
    po = make_po(supplier, warehouse, [(first, 10), (second, 4)], by=manager_user)
    line = po.lines.get(product=first)
    shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 3}, idempotency_key="k1", by=manager_user
    )
    response = staff_client.get(reverse("suppliers:receiving-list"))
    row = next(iter(response.context["table"].rows))
    assert row.get_cell_value("line_count") == 2
    assert row.get_cell_value("units_outstanding") == 11


@pytest.mark.parametrize(
    ("due", "expected_offsets"),
    [("today", [0]), ("overdue", [-9, -1]), ("", [-9, -1, 0, 1, 30])],
)
def test_receiving_list_filters_by_due_date(
    staff_client, supplier, warehouse, manager_user, due, expected_offsets
):
    product = ProductFactory()
    by_offset = {
        offset: make_po(
            supplier,
            warehouse,
            [(product, 1)],
            by=manager_user,
            expected=today() + dt.timedelta(days=offset),
        )
        for offset in (-9, -1, 0, 1, 30)
    }
    response = staff_client.get(reverse("suppliers:receiving-list"), {"due": due})
    shown = [row.record.pk for row in response.context["table"].rows]
    assert shown == [by_offset[offset].pk for offset in expected_offsets]


def test_receiving_list_due_this_week_is_the_calendar_week(
    staff_client, supplier, warehouse, manager_user
):
    product = ProductFactory()
    monday = today() - dt.timedelta(days=today().weekday())
    inside = [monday, monday + dt.timedelta(days=6)]
    outside = [monday - dt.timedelta(days=1), monday + dt.timedelta(days=7)]
    pos = {
        date: make_po(supplier, warehouse, [(product, 1)], by=manager_user, expected=date)
        for date in inside + outside
    }
    response = staff_client.get(reverse("suppliers:receiving-list"), {"due": "week"})
    shown = {row.record.pk for row in response.context["table"].rows}
    assert shown == {pos[date].pk for date in inside}


def test_receiving_list_filters_by_warehouse_and_supplier(staff_client, manager_user):
    north, south = WarehouseFactory(code="NTH"), WarehouseFactory(code="STH")
    acme, globex = SupplierFactory(name="Acme"), SupplierFactory(name="Globex")
    product = ProductFactory()
    pos = {
        (w.code, s.name): make_po(s, w, [(product, 1)], by=manager_user)
        for w in (north, south)
        for s in (acme, globex)
    }
    url = reverse("suppliers:receiving-list")
    response = staff_client.get(url, {"warehouse": south.pk, "supplier": globex.pk})
    assert [row.record.pk for row in response.context["table"].rows] == [pos[("STH", "Globex")].pk]
    response = staff_client.get(url, {"warehouse": north.pk})
    assert {row.record.pk for row in response.context["table"].rows} == {
        pos[("NTH", "Acme")].pk,
        pos[("NTH", "Globex")].pk,
    }


@pytest.mark.parametrize("name", ["suppliers:receiving-list", "suppliers:purchaseorder-list"])
def test_supplier_filter_is_a_text_box_taking_part_of_a_name_or_a_number(
    staff_client, manager_user, warehouse, name
):
    acme, globex = SupplierFactory(name="Acme Tools"), SupplierFactory(name="Globex")
    product = ProductFactory()
    from_acme = make_po(acme, warehouse, [(product, 1)], by=manager_user)
    from_globex = make_po(globex, warehouse, [(product, 1)], by=manager_user)
    url = reverse(name)

    def shown(params):
        response = staff_client.get(url, params)
        assert response.status_code == 200
        return {row.record.pk for row in response.context["table"].rows}

    assert shown({"supplier": "tools"}) == {from_acme.pk}
    assert shown({"supplier": str(globex.pk)}) == {from_globex.pk}
    assert shown({"supplier": "nobody by this name"}) == set()
    html = page_text(staff_client.get(url))
    # No list of every supplier in the page: the box is a text input.
    assert '<input type="search" name="supplier"' in html
    assert '<select name="supplier"' not in html
    unknown = staff_client.get(url, {"supplier": "987654321"})
    assert "No supplier has the number 987654321" in page_text(unknown)
    assert list(unknown.context["table"].rows) == []


def test_receiving_list_offers_receive_only_to_who_may_receive(staff_client, client, po):
    receive_url = reverse("suppliers:receive", args=[po.pk])
    assert receive_url in page_text(staff_client.get(reverse("suppliers:receiving-list")))
    client.force_login(user_with("suppliers.view_purchaseorder"))
    assert receive_url not in page_text(client.get(reverse("suppliers:receiving-list")))


@pytest.mark.parametrize(
    "params",
    [{"warehouse": "abc"}, {"supplier": "999999"}, {"due": "someday"}, {"sort": "nonsense"}],
)
def test_receiving_list_rejects_garbage_filters_without_error(staff_client, po, params):
    response = staff_client.get(reverse("suppliers:receiving-list"), params)
    assert response.status_code == 200
    if "sort" not in params:
        assert response.context["filter"].errors
        assert list(response.context["table"].rows) == []


def test_receiving_list_csv_export_has_the_filtered_rows(
    staff_client, supplier, warehouse, manager_user
):
    product = ProductFactory()
    overdue = make_po(
        supplier,
        warehouse,
        [(product, 7)],
        by=manager_user,
        expected=today() - dt.timedelta(days=1),
    )
    make_po(
        supplier,
        warehouse,
        [(product, 3)],
        by=manager_user,
        expected=today() + dt.timedelta(days=5),
    )
    response = staff_client.get(
        reverse("suppliers:receiving-list"), {"due": "overdue", "_export": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0] == [
        "PO",
        "Supplier",
        "Warehouse",
        "Expected",
        "Due",
        "Status",
        "Lines",
        "Units outstanding",
    ]
    assert len(rows) == 2
    assert rows[1][0] == overdue.number
    assert rows[1][4] == "Overdue"
    assert rows[1][7] == "7"


def test_receiving_list_page_links_csv_with_current_filters(staff_client, po):
    response = staff_client.get(reverse("suppliers:receiving-list"), {"due": "overdue"})
    assert "?due=overdue&amp;_export=csv" in page_text(response)


# The receiving list, whatever the number of purchase orders:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions      } PermissionRequiredMixin; cached for the
#  4. SELECT the permissions of their groups } template's perms checks
#  5. SELECT COUNT(*) of the filtered inbound orders alone (the line totals are subqueries
#     of the page query, so the count needs no join)
#  6. SELECT the warehouses for the filter's choices (the form renders above the table)
#  7. SELECT one page of inbound orders with supplier, warehouse and their line totals
# The supplier filter is a text box, so no supplier is read for it.
RECEIVING_LIST_QUERIES = 7


@pytest.mark.parametrize("count", [3, 25])
def test_receiving_list_query_count_does_not_grow_with_rows(
    staff_client, manager_user, count, django_assert_num_queries
):
    warehouse = WarehouseFactory()
    for n in range(count):
        supplier = SupplierFactory()
        make_po(
            supplier,
            warehouse,
            [(ProductFactory(), 5), (ProductFactory(), 2)],
            by=manager_user,
            expected=today() + dt.timedelta(days=n - 2),
        )
    with django_assert_num_queries(RECEIVING_LIST_QUERIES):
        response = staff_client.get(reverse("suppliers:receiving-list"))
    assert len(list(response.context["table"].rows)) == count


# --- receive -----------------------------------------------------------------------------------


def receive_data(response, **quantities) -> dict:
    """The receive form as rendered (prefilled outstanding, hidden key), with some changes."""
    form = response.context["form"]
    data = {"idempotency_key": form["idempotency_key"].value(), "reference": "DN-1"}
    for _line, field in form.rows():
        data[field.html_name] = field.value()
    data.update(quantities)
    return data


def test_receive_form_is_prefilled_with_what_is_outstanding(
    staff_client, supplier, warehouse, manager_user
):
    first, second = ProductFactory(sku="FIRST"), ProductFactory(sku="SECOND")
    po = make_po(supplier, warehouse, [(first, 10), (second, 4)], by=manager_user)
    line = po.lines.get(product=first)
    shipment_receive(
        purchase_order_id=po.pk, quantities={line.pk: 6}, idempotency_key="k-pre", by=manager_user
    )

    response = staff_client.get(reverse("suppliers:receive", args=[po.pk]))

    assert response.status_code == 200
    values = {line.product.sku: field.value() for line, field in response.context["form"].rows()}
    assert values == {"FIRST": 4, "SECOND": 4}
    key = response.context["form"]["idempotency_key"].value()
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert f'name="idempotency_key" value="{key}"' in page_text(response)
    other = staff_client.get(reverse("suppliers:receive", args=[po.pk]))
    assert other.context["form"]["idempotency_key"].value() != key


def test_receiving_puts_stock_up_and_opens_the_release_review_when_someone_waits(
    staff_client, staff_user, supplier, warehouse, manager_user
):
    waited_for, nobody_waits = ProductFactory(), ProductFactory()
    po = make_po(supplier, warehouse, [(waited_for, 10), (nobody_waits, 5)], by=manager_user)
    place(CustomerFactory(), warehouse, [(waited_for, 3)], by=staff_user)
    form_page = staff_client.get(reverse("suppliers:receive", args=[po.pk]))
    data = receive_data(form_page)

    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)

    shipment = Shipment.objects.get()
    assert shipment.reference == "DN-1"
    assert shipment.received_by == staff_user
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("orders:release-review")
    query = parse_qs(location.query)
    assert query["warehouse"] == [str(warehouse.pk)]
    assert query["shipment"] == [str(shipment.pk)]
    assert sorted(query["product"]) == sorted([str(waited_for.pk), str(nobody_waits.pk)])
    levels = dict(
        StockLevel.objects.filter(warehouse=warehouse).values_list("product_id", "on_hand")
    )
    assert levels == {waited_for.pk: 10, nobody_waits.pk: 5}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    followed = staff_client.get(response["Location"])
    assert any(shipment.number in m and po.number in m for m in messages_of(followed))


def test_receiving_with_nobody_waiting_says_so_and_returns_to_the_purchase_order(
    staff_client, po, product
):
    data = receive_data(staff_client.get(reverse("suppliers:receive", args=[po.pk])))
    line = po.lines.get()
    data[f"line_{line.pk}"] = "4"

    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data, follow=True)

    assert response.redirect_chain[-1][0] == reverse("suppliers:purchaseorder-detail", args=[po.pk])
    texts = messages_of(response)
    assert any("Nobody is waiting" in text for text in texts)
    assert any("partially received" in text for text in texts)
    line.refresh_from_db()
    assert line.quantity_received == 4
    shown = page_text(response)
    assert Shipment.objects.get().number in shown
    assert "staff-user" in shown


def test_a_double_submitted_receipt_counts_once(staff_client, po, staff_user, warehouse, product):
    place(CustomerFactory(), warehouse, [(product, 2)], by=staff_user)
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])),
        **{f"line_{po.lines.get().pk}": "6"},
    )

    first = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)
    after_first = state()
    second = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data, follow=True)

    assert state() == after_first
    assert Shipment.objects.count() == 1
    assert StockLevel.objects.get(product=product, warehouse=warehouse).on_hand == 6
    assert second.redirect_chain[0][0] == first["Location"]
    assert any(
        "already recorded" in text and "counted once" in text for text in messages_of(second)
    )


def test_over_receipt_is_refused_on_the_form_and_changes_nothing(staff_client, po):
    line = po.lines.get()
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])), **{f"line_{line.pk}": "11"}
    )
    before = state()

    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)

    assert response.status_code == 200
    assert state() == before
    errors = " ".join(response.context["form"].non_field_errors())
    assert "at most 10 more can be accepted" in errors
    assert "at most 10 more can be accepted" in page_text(response)
    # The same key stays on the corrected form, so fixing and resubmitting still counts once.
    assert response.context["form"]["idempotency_key"].value() == data["idempotency_key"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "at least 0"),
        ("1.5", "whole number"),
        ("abc", "whole number"),
        ("", "required"),
        ("1000000001", "the most this field accepts"),
        ("1e3", "whole number"),
        ("1e999999999", "whole number"),
        ("9" * 5000, "the most this field accepts"),
    ],
)
def test_bad_received_quantities_are_refused_and_change_nothing(staff_client, po, value, message):
    line = po.lines.get()
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])), **{f"line_{line.pk}": value}
    )
    before = state()

    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)

    assert response.status_code == 200
    assert state() == before
    field_errors = " ".join(response.context["form"].errors[f"line_{line.pk}"])
    assert message in field_errors
    assert "is-invalid" in page_text(response)


def test_receiving_nothing_at_all_is_refused(staff_client, po):
    line = po.lines.get()
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])), **{f"line_{line.pk}": "0"}
    )
    before = state()
    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)
    assert response.status_code == 200
    assert state() == before
    assert "at least one line" in page_text(response)


def test_zero_on_one_line_receives_the_others(staff_client, supplier, warehouse, manager_user):
    first, second = ProductFactory(), ProductFactory()
    po = make_po(supplier, warehouse, [(first, 10), (second, 4)], by=manager_user)
    line_first, line_second = po.lines.get(product=first), po.lines.get(product=second)
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])),
        **{f"line_{line_first.pk}": "0"},
    )
    staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)
    line_first.refresh_from_db()
    line_second.refresh_from_db()
    assert (line_first.quantity_received, line_second.quantity_received) == (0, 4)
    assert ShipmentLine.objects.get().purchase_order_line == line_second


def test_lines_of_other_purchase_orders_in_the_post_are_ignored(
    staff_client, po, supplier, warehouse, manager_user
):
    other = make_po(supplier, warehouse, [(ProductFactory(), 5)], by=manager_user)
    other_line = other.lines.get()
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])),
        **{f"line_{other_line.pk}": "5"},
    )
    staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)
    other_line.refresh_from_db()
    assert other_line.quantity_received == 0


@pytest.mark.parametrize("key", ["", "x" * 65])
def test_a_missing_or_garbage_receipt_key_is_refused_and_a_fresh_one_issued(staff_client, po, key):
    data = receive_data(
        staff_client.get(reverse("suppliers:receive", args=[po.pk])), idempotency_key=key
    )
    before = state()
    response = staff_client.post(reverse("suppliers:receive", args=[po.pk]), data)
    assert response.status_code == 200
    assert state() == before
    assert "The receipt form has expired; open it again." in page_text(response)
    assert re.fullmatch(r"[0-9a-f]{32}", response.context["form"]["idempotency_key"].value())


@pytest.mark.parametrize("status", ["draft", "cancelled", "received"])
def test_closed_or_draft_purchase_orders_cannot_be_received(
    staff_client, supplier, warehouse, product, manager_user, status
):
    po = make_po(supplier, warehouse, [(product, 5)], by=manager_user, send=status != "draft")
    line = po.lines.get()
    if status == "cancelled":
        purchase_order_cancel(purchase_order_id=po.pk, reason="Not needed", by=manager_user)
    if status == "received":
        shipment_receive(
            purchase_order_id=po.pk, quantities={line.pk: 5}, idempotency_key="all", by=manager_user
        )
    page = staff_client.get(reverse("suppliers:receive", args=[po.pk]))
    assert page.status_code == 200
    assert 'data-testid="po-not-receivable"' in page_text(page)
    assert 'data-testid="receive-form"' not in page_text(page)

    before = state()
    response = staff_client.post(
        reverse("suppliers:receive", args=[po.pk]),
        {"idempotency_key": "a" * 32, f"line_{line.pk}": "1"},
    )

    assert response.status_code == 200
    assert state() == before
    errors = " ".join(response.context["form"].non_field_errors())
    assert "it cannot be received" in errors
    assert po.number in errors


# --- suppliers ---------------------------------------------------------------------------------


def test_supplier_list_counts_terms_and_open_purchase_orders(staff_client, warehouse, manager_user):
    acme, _globex = SupplierFactory(name="Acme"), SupplierFactory(name="Globex")
    products = [ProductFactory() for _ in range(3)]
    for product in products:
        SupplierProductFactory(supplier=acme, product=product)
    make_po(acme, warehouse, [(products[0], 5)], by=manager_user)
    make_po(acme, warehouse, [(products[1], 5), (products[2], 1)], by=manager_user)
    make_po(acme, warehouse, [(products[0], 5)], by=manager_user, send=False)
    cancelled = make_po(acme, warehouse, [(products[0], 5)], by=manager_user)
    purchase_order_cancel(purchase_order_id=cancelled.pk, reason="Duplicate", by=manager_user)

    response = staff_client.get(reverse("suppliers:supplier-list"))

    rows = {row.record.name: row for row in response.context["table"].rows}
    assert rows["Acme"].get_cell_value("term_count") == 3
    assert rows["Acme"].get_cell_value("open_po_count") == 2
    assert rows["Globex"].get_cell_value("term_count") == 0
    assert rows["Globex"].get_cell_value("open_po_count") == 0
    assert acme.get_absolute_url() in page_text(response)


def test_supplier_list_filters_by_name_and_supplied_sku(staff_client):
    acme, globex = SupplierFactory(name="Acme"), SupplierFactory(name="Globex")
    SupplierProductFactory(supplier=globex, product=ProductFactory(sku="BOLT-9"))
    SupplierProductFactory(supplier=acme, product=ProductFactory(sku="NUT-1"))
    url = reverse("suppliers:supplier-list")

    def names(response):
        return [row.record.name for row in response.context["table"].rows]

    assert names(staff_client.get(url, {"name": "acm"})) == ["Acme"]
    assert names(staff_client.get(url, {"sku": "bolt"})) == ["Globex"]


def test_supplier_list_active_filter_offers_plain_words(staff_client):
    SupplierFactory(name="Acme")
    SupplierFactory(name="Gone", is_active=False)
    url = reverse("suppliers:supplier-list")

    def names(response):
        return sorted(row.record.name for row in response.context["table"].rows)

    assert names(staff_client.get(url)) == ["Acme", "Gone"]
    assert names(staff_client.get(url, {"is_active": "true"})) == ["Acme"]
    assert names(staff_client.get(url, {"is_active": "false"})) == ["Gone"]
    html = page_text(staff_client.get(url))
    assert "Active or not" in html
    assert "Unknown" not in html


def test_supplier_list_csv_export_has_the_filtered_rows(staff_client):
    SupplierFactory(name="Acme", email="a@example.com")
    SupplierFactory(name="Globex")
    response = staff_client.get(
        reverse("suppliers:supplier-list"), {"name": "acme", "_export": "csv"}
    )
    rows = csv_rows(response)
    assert rows[0] == [
        "Name",
        "Email",
        "Phone",
        "Active",
        "Products supplied",
        "Open purchase orders",
    ]
    assert [row[0] for row in rows[1:]] == ["Acme"]


# The supplier list, whatever the number of suppliers:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions
#  4. SELECT the permissions of their groups
#  5. SELECT COUNT(*) of the filtered suppliers (the table's paginator)
#  6. SELECT one page of suppliers with their term and open-order counts (correlated subqueries)
SUPPLIER_LIST_QUERIES = 6


@pytest.mark.parametrize("count", [3, 25])
def test_supplier_list_query_count_does_not_grow_with_rows(
    staff_client, manager_user, warehouse, count, django_assert_num_queries
):
    for _ in range(count):
        supplier = SupplierFactory()
        term = SupplierProductFactory(supplier=supplier)
        make_po(supplier, warehouse, [(term.product, 3)], by=manager_user)
    with django_assert_num_queries(SUPPLIER_LIST_QUERIES):
        response = staff_client.get(reverse("suppliers:supplier-list"))
    assert len(list(response.context["table"].rows)) == count


def test_supplier_detail_shows_terms_and_open_purchase_orders(
    staff_client, warehouse, manager_user
):
    acme = SupplierFactory(name="Acme")
    term = SupplierProductFactory(
        supplier=acme, product=ProductFactory(sku="BOLT-9"), supplier_sku="AC-77", lead_time_days=12
    )
    open_po = make_po(acme, warehouse, [(term.product, 5)], by=manager_user)
    received = make_po(acme, warehouse, [(term.product, 2)], by=manager_user)
    shipment_receive(
        purchase_order_id=received.pk,
        quantities={received.lines.get().pk: 2},
        idempotency_key="r",
        by=manager_user,
    )

    response = staff_client.get(reverse("suppliers:supplier-detail", args=[acme.pk]))

    text = page_text(response)
    assert "BOLT-9" in text
    assert "AC-77" in text
    assert list(response.context["open_orders"]) == [open_po]
    assert open_po.number in text
    assert received.number not in text


# --- purchase order list and detail ------------------------------------------------------------


def test_purchase_order_list_filters_by_status_supplier_warehouse_overdue_and_number(
    staff_client, manager_user
):
    north, south = WarehouseFactory(code="NTH"), WarehouseFactory(code="STH")
    acme, globex = SupplierFactory(name="Acme"), SupplierFactory(name="Globex")
    product = ProductFactory()
    draft = make_po(acme, north, [(product, 1)], by=manager_user, send=False)
    late = make_po(
        acme, south, [(product, 1)], by=manager_user, expected=today() - dt.timedelta(days=3)
    )
    sent = make_po(globex, north, [(product, 1)], by=manager_user)
    url = reverse("suppliers:purchaseorder-list")

    def shown(params):
        return [r.record.pk for r in staff_client.get(url, params).context["table"].rows]

    assert shown({}) == [sent.pk, late.pk, draft.pk]
    assert shown({"status": "draft"}) == [draft.pk]
    assert shown({"supplier": globex.pk}) == [sent.pk]
    assert shown({"warehouse": south.pk}) == [late.pk]
    assert shown({"overdue": "on"}) == [late.pk]
    assert shown({"number": late.number}) == [late.pk]
    assert shown({"number": str(draft.pk)}) == [draft.pk]
    assert shown({"number": "no digits"}) == [sent.pk, late.pk, draft.pk]
    page = staff_client.get(url, {"status": "bogus"})
    assert page.status_code == 200
    assert page.context["filter"].errors


def test_purchase_order_list_csv_export_has_the_filtered_rows(
    staff_client, manager_user, warehouse
):
    supplier = SupplierFactory(name="Acme")
    product = ProductFactory()
    make_po(supplier, warehouse, [(product, 4)], by=manager_user, send=False)
    sent = make_po(supplier, warehouse, [(product, 9)], by=manager_user)
    response = staff_client.get(
        reverse("suppliers:purchaseorder-list"), {"status": "sent", "_export": "csv"}
    )
    rows = csv_rows(response)
    assert rows[0][:4] == ["PO", "Supplier", "Warehouse", "Status"]
    assert len(rows) == 2
    assert rows[1][0] == sent.number
    assert rows[1][3] == "Sent"
    assert rows[1][-2:] == ["9", "9"]


# The purchase order list, whatever the number of orders:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions
#  4. SELECT the permissions of their groups
#  5. SELECT COUNT(*) of the filtered purchase orders alone (the table's paginator)
#  6. SELECT the warehouses for the filter's choices (the form renders above the table)
#  7. SELECT one page of orders with supplier, warehouse and line totals (correlated
#     subqueries, worked out for the page's rows only)
# The supplier filter is a text box, so no supplier is read for it.
PURCHASE_ORDER_LIST_QUERIES = 7


@pytest.mark.parametrize("count", [3, 25])
def test_purchase_order_list_query_count_does_not_grow_with_rows(
    staff_client, manager_user, count, django_assert_num_queries
):
    warehouse = WarehouseFactory()
    for n in range(count):
        make_po(
            SupplierFactory(),
            warehouse,
            [(ProductFactory(), 2), (ProductFactory(), 1)],
            by=manager_user,
            send=n % 2 == 0,
        )
    with django_assert_num_queries(PURCHASE_ORDER_LIST_QUERIES):
        response = staff_client.get(reverse("suppliers:purchaseorder-list"))
    assert len(list(response.context["table"].rows)) == count


def test_purchase_order_detail_shows_lines_and_shipments_with_who_and_when(
    manager_client, staff_user, supplier, warehouse, manager_user
):
    first, second = ProductFactory(sku="FIRST"), ProductFactory(sku="SECOND")
    po = make_po(supplier, warehouse, [(first, 10), (second, 4)], by=manager_user)
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={po.lines.get(product=first).pk: 6},
        idempotency_key="d1",
        by=staff_user,
        reference="DN-555",
    ).shipment

    response = manager_client.get(reverse("suppliers:purchaseorder-detail", args=[po.pk]))

    text = page_text(response)
    assert response.context["totals"] == {"ordered": 14, "received": 6, "outstanding": 8}
    assert "Partially received" in text
    assert shipment.number in text
    assert "DN-555" in text
    assert "staff-user" in text
    assert "FIRST × 6" in text
    # Sent, so it can be cancelled but not sent again.
    assert reverse("suppliers:purchaseorder-cancel", args=[po.pk]) in text
    assert reverse("suppliers:purchaseorder-send", args=[po.pk]) not in text


def test_draft_purchase_order_detail_offers_send_to_managers(
    manager_client, supplier, warehouse, product, manager_user
):
    draft = make_po(supplier, warehouse, [(product, 3)], by=manager_user, send=False)
    text = page_text(manager_client.get(reverse("suppliers:purchaseorder-detail", args=[draft.pk])))
    assert reverse("suppliers:purchaseorder-send", args=[draft.pk]) in text
    assert reverse("suppliers:receive", args=[draft.pk]) not in text


# --- create ------------------------------------------------------------------------------------


def create_data(supplier, warehouse, lines, *, token="t" * 32, expected="", **extra) -> dict:
    data = {
        "supplier": supplier.pk,
        "warehouse": warehouse.pk,
        "expected_date": expected,
        "notes": "",
        "once_token": token,
        "lines-TOTAL_FORMS": str(max(len(lines), 1)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, (sku, quantity, cost) in enumerate(lines):
        data[f"lines-{index}-sku"] = sku
        data[f"lines-{index}-quantity"] = quantity
        data[f"lines-{index}-unit_cost"] = cost
    data.update(extra)
    return data


def test_create_form_renders_with_a_fresh_token(manager_client, supplier):
    response = manager_client.get(
        reverse("suppliers:purchaseorder-create"), {"supplier": supplier.pk}
    )
    assert response.status_code == 200
    token = response.context["form"]["once_token"].value()
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    # The supplier page's "New purchase order" link preselects the supplier, shown by name.
    assert response.context["form"]["supplier"].value() == supplier.name
    assert f'value="{supplier.name}"' in page_text(response)
    assert 'id="po-line-template"' in page_text(response)


def test_creating_a_purchase_order_uses_terms_for_cost_and_lead_time(
    manager_client, manager_user, supplier, warehouse
):
    bolt, nut = ProductFactory(sku="BOLT-9"), ProductFactory(sku="NUT-1")
    SupplierProductFactory(
        supplier=supplier, product=bolt, unit_cost=Decimal("1.25"), lead_time_days=5
    )
    SupplierProductFactory(
        supplier=supplier, product=nut, unit_cost=Decimal("0.10"), lead_time_days=12
    )
    data = create_data(
        supplier, warehouse, [("bolt-9", "40", ""), ("NUT-1", "100", "0.08")], notes="Rush"
    )

    response = manager_client.post(reverse("suppliers:purchaseorder-create"), data, follow=True)

    po = PurchaseOrder.objects.get()
    assert response.redirect_chain[-1][0] == po.get_absolute_url()
    assert po.status == PurchaseOrderStatus.DRAFT
    assert po.created_by == manager_user
    assert po.notes == "Rush"
    assert po.expected_date == today() + dt.timedelta(days=12)
    lines = {line.product.sku: (line.quantity_ordered, line.unit_cost) for line in po.lines.all()}
    assert lines == {"BOLT-9": (40, Decimal("1.25")), "NUT-1": (100, Decimal("0.08"))}
    assert any(po.number in text and "draft" in text for text in messages_of(response))


def test_a_double_submitted_create_form_creates_one_purchase_order(
    manager_client, supplier, warehouse
):
    ProductFactory(sku="BOLT-9")
    data = create_data(supplier, warehouse, [("BOLT-9", "4", "1.00")], expected=str(today()))
    first = manager_client.post(reverse("suppliers:purchaseorder-create"), data)
    second = manager_client.post(reverse("suppliers:purchaseorder-create"), data)
    assert PurchaseOrder.objects.count() == 1
    assert second.status_code == 302
    assert second["Location"] == first["Location"] == PurchaseOrder.objects.get().get_absolute_url()


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        (("NOPE-1", "5", ""), "sku", "Unknown SKU"),
        (("BOLT-9", "0", ""), "quantity", "at least 1"),
        (("BOLT-9", "-3", ""), "quantity", "at least 1"),
        (("BOLT-9", "2.5", ""), "quantity", "whole number"),
        (("BOLT-9", "ten", ""), "quantity", "whole number"),
        (("BOLT-9", "1000000001", ""), "quantity", "the most this field accepts"),
        (("BOLT-9", "", ""), "quantity", "required"),
        (("BOLT-9", "5", "-1"), "unit_cost", "greater than or equal to 0"),
        (("BOLT-9", "5", "abc"), "unit_cost", "Enter a number"),
        (("BOLT-9", "5", "1.234"), "unit_cost", "2 decimal places"),
        (("BOLT-9", "5", "1e999999999"), "unit_cost", "less than or equal to 1000000"),
        (("BOLT-9", "9" * 5000, ""), "quantity", "the most this field accepts"),
    ],
)
def test_bad_purchase_order_lines_are_refused_and_create_nothing(
    manager_client, supplier, warehouse, line, field, message
):
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="BOLT-9"))
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-create"), create_data(supplier, warehouse, [line])
    )
    assert response.status_code == 200
    assert state() == before
    assert message in " ".join(response.context["formset"].forms[0].errors[field])
    assert message.split()[0] in page_text(response)


def test_the_same_sku_twice_is_refused(manager_client, supplier, warehouse):
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="BOLT-9"))
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-create"),
        create_data(supplier, warehouse, [("BOLT-9", "1", ""), ("bolt-9", "2", "")]),
    )
    assert state() == before
    assert "already on another line" in " ".join(response.context["formset"].forms[1].errors["sku"])


def test_a_purchase_order_without_lines_is_refused(manager_client, supplier, warehouse):
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-create"), create_data(supplier, warehouse, [])
    )
    assert state() == before
    assert "Add at least one line" in page_text(response)


def test_a_product_without_terms_needs_a_cost_and_a_date(manager_client, supplier, warehouse):
    ProductFactory(sku="LOOSE-1")
    before = state()
    no_date = manager_client.post(
        reverse("suppliers:purchaseorder-create"),
        create_data(supplier, warehouse, [("LOOSE-1", "2", "")]),
    )
    assert "has no lead time" in " ".join(no_date.context["form"].errors["expected_date"])
    no_cost = manager_client.post(
        reverse("suppliers:purchaseorder-create"),
        create_data(supplier, warehouse, [("LOOSE-1", "2", "")], expected=str(today())),
    )
    assert "enter its unit cost" in page_text(no_cost)
    assert state() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"supplier": "999999"}, "supplier"),
        ({"supplier": "abc"}, "supplier"),
        ({"warehouse": ""}, "warehouse"),
        ({"expected_date": "yesterday"}, "expected_date"),
        ({"expected_date": "2001-01-01"}, "expected_date"),
    ],
)
def test_bad_purchase_order_headers_are_refused(
    manager_client, supplier, warehouse, changes, field
):
    SupplierProductFactory(supplier=supplier, product=ProductFactory(sku="BOLT-9"))
    before = state()
    data = create_data(supplier, warehouse, [("BOLT-9", "1", "")])
    data.update(changes)
    response = manager_client.post(reverse("suppliers:purchaseorder-create"), data)
    assert response.status_code == 200
    assert state() == before
    assert response.context["form"].errors[field]


def test_an_inactive_supplier_cannot_be_ordered_from(manager_client, warehouse):
    gone = SupplierFactory(name="Gone", is_active=False)
    ProductFactory(sku="BOLT-9")
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-create"),
        create_data(gone, warehouse, [("BOLT-9", "1", "1.00")], expected=str(today())),
    )
    assert state() == before
    assert response.context["form"].errors["supplier"] == [
        f"Gone (#{gone.pk}) is an inactive supplier; choose an active one."
    ]


def test_a_tampered_line_formset_is_refused_without_error(manager_client, supplier, warehouse):
    data = create_data(supplier, warehouse, [("BOLT-9", "1", "")])
    data["lines-TOTAL_FORMS"] = "lots"
    before = state()
    response = manager_client.post(reverse("suppliers:purchaseorder-create"), data)
    assert response.status_code == 200
    assert state() == before
    assert response.context["formset"].non_form_errors()


# --- send and cancel ---------------------------------------------------------------------------


def test_sending_a_draft_makes_it_count_as_on_order(
    manager_client, supplier, warehouse, product, manager_user
):
    draft = make_po(supplier, warehouse, [(product, 3)], by=manager_user, send=False)
    response = manager_client.post(
        reverse("suppliers:purchaseorder-send", args=[draft.pk]), follow=True
    )
    draft.refresh_from_db()
    assert draft.status == PurchaseOrderStatus.SENT
    assert draft.sent_at is not None
    assert response.redirect_chain[-1][0] == draft.get_absolute_url()
    assert any(f"sent to {supplier.name}" in text for text in messages_of(response))


def test_sending_twice_is_refused_with_a_message(manager_client, po):
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-send", args=[po.pk]), follow=True
    )
    assert state() == before
    assert any("is sent; it cannot be sent" in text for text in messages_of(response))


def test_send_only_accepts_post(manager_client, supplier, warehouse, product, manager_user):
    draft = make_po(supplier, warehouse, [(product, 3)], by=manager_user, send=False)
    assert (
        manager_client.get(reverse("suppliers:purchaseorder-send", args=[draft.pk])).status_code
        == 405
    )
    draft.refresh_from_db()
    assert draft.status == PurchaseOrderStatus.DRAFT


def test_cancelling_with_a_reason(manager_client, po):
    page = manager_client.get(reverse("suppliers:purchaseorder-cancel", args=[po.pk]))
    assert page.status_code == 200
    response = manager_client.post(
        reverse("suppliers:purchaseorder-cancel", args=[po.pk]),
        {"reason": "Supplier discontinued it"},
        follow=True,
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.CANCELLED
    assert po.cancel_reason == "Supplier discontinued it"
    assert "Supplier discontinued it" in page_text(response)
    assert any(f"{po.number} cancelled" in text for text in messages_of(response))


@pytest.mark.parametrize("reason", ["", "   ", "x" * 256])
def test_cancelling_needs_a_reason(manager_client, po, reason):
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-cancel", args=[po.pk]), {"reason": reason}
    )
    assert response.status_code == 200
    assert state() == before
    assert response.context["form"].errors


def test_a_received_purchase_order_cannot_be_cancelled(manager_client, po, manager_user):
    shipment_receive(
        purchase_order_id=po.pk,
        quantities={po.lines.get().pk: 10},
        idempotency_key="x",
        by=manager_user,
    )
    before = state()
    response = manager_client.post(
        reverse("suppliers:purchaseorder-cancel", args=[po.pk]), {"reason": "Too late"}
    )
    assert response.status_code == 200
    assert state() == before
    assert "is received; it cannot be cancelled" in page_text(response)
