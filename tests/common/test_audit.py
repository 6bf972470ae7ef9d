"""The audit trail: history pages of products, orders and purchase orders, gathered from the
apps' own records (ledger, safety stock changes, allocations, document fields, admin log)."""

import datetime as dt
import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from common.audit import HISTORY_PER_PAGE
from inventory.models import Product, SafetyStockChange, StockMovement
from inventory.selectors import product_history_parts
from inventory.services import safety_stock_set, stock_adjust, stock_count, stock_transfer
from orders.audit import product_allocation_rows
from orders.models import Allocation, SalesOrder
from orders.services import (
    ReleaseDecision,
    order_cancel,
    order_line_cancel,
    release_confirm,
    release_propose,
)
from suppliers.services import purchase_order_cancel, shipment_receive
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, level_for, line_of, place, sent_po


def rows(response) -> list[tuple]:
    """(who, action code, quantity, reason) of each entry on the page, top to bottom."""
    return [
        (entry.user, entry.action, entry.quantity, entry.reason)
        for entry in response.context["entries"]
    ]


def admin_change(user, obj, fields):
    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        object_repr=str(obj),
        action_flag=CHANGE,
        change_message=json.dumps([{"changed": {"fields": fields}}]),
    )


def release_everything(warehouse, product, by):
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])
    return release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for entry in plan.products
            for line in entry.lines
        ],
        by=by,
    )


def test_product_history_shows_who_did_what_newest_first(
    manager_client, staff_user, manager_user, admin_user, warehouse, product
):
    other = WarehouseFactory(code="NTH")
    clerk = UserFactory(username="clerk")
    level = give_stock(product, warehouse, 10, by=staff_user, reason="Opening stock")
    stock_count(level_id=level.pk, counted=9, reason="Cycle count aisle 4", by=clerk)
    stock_transfer(
        product_id=product.pk,
        from_warehouse_id=warehouse.pk,
        to_warehouse_id=other.pk,
        quantity=2,
        reason="Rebalance",
        by=staff_user,
    )
    safety_stock_set(level_ids=[level.pk], value=4, by=manager_user, reason="Peak season")
    # 7 are free: the order takes them when placed and waits for the rest, which then arrives.
    order = place(CustomerFactory(), warehouse, [(product, 20)], by=staff_user)
    give_stock(product, warehouse, 3, by=staff_user, reason="Found in returns")
    release_everything(warehouse, product, manager_user)
    admin_change(admin_user, product, ["Name"])

    response = manager_client.get(reverse("inventory:product-history", args=[product.pk]))

    assert response.status_code == 200
    assert rows(response) == [
        ("admin-user", "admin_2", None, "Changed Name."),
        ("manager-user", "alloc_release", 3, "Queue position 1"),
        ("staff-user", "adjustment", 3, "Found in returns"),
        ("staff-user", "alloc_placement", 7, f"Free stock when {order.number} was placed"),
        ("manager-user", "safety_stock", 4, "Peak season"),
        ("staff-user", "transfer", 2, "Rebalance"),
        ("staff-user", "transfer", -2, "Rebalance"),
        ("clerk", "count", -1, "Cycle count aisle 4"),
        ("staff-user", "adjustment", 10, "Opening stock"),
    ]
    release_entry = response.context["entries"][1]
    # The placement names the order; the release names the order and the release.
    assert response.context["entries"][3].links == release_entry.links[:1]
    assert release_entry.links[1][0].startswith("REL-")
    assert order.number in release_entry.what
    assert (order.number, order.get_absolute_url()) in release_entry.links
    text = response.content.decode()
    assert f'href="{order.get_absolute_url()}"' in text
    assert "Safety stock set" in text


def test_order_history_records_who_placed_released_and_cancelled(
    manager_client, staff_user, manager_user, admin_user, warehouse, product
):
    gadget = ProductFactory(sku="GADGET-9")
    order = place(
        CustomerFactory(name="Ada"), warehouse, [(product, 3), (gadget, 5)], by=staff_user
    )
    give_stock(product, warehouse, 3, by=staff_user)
    release = release_everything(warehouse, product, manager_user).release
    # The gadget line only waited (nothing allocated): its cancellation still names who did it.
    order_line_cancel(
        line_id=line_of(order, gadget).pk, reason="Customer found it elsewhere", by=manager_user
    )
    order_cancel(order_id=order.pk, reason="Customer closed", by=manager_user)
    admin_change(admin_user, order, ["Customer reference"])

    response = manager_client.get(reverse("orders:order-history", args=[order.pk]))

    assert response.status_code == 200
    found = rows(response)
    assert found[0] == ("admin-user", "admin_2", None, "Changed Customer reference.")
    # One cancellation writes three facts in one transaction; their order among themselves is
    # the order of the writes, which is not what this test is about.
    assert sorted(found[1:4], key=str) == sorted(
        [
            ("manager-user", "order_cancelled", None, "Customer closed"),
            ("manager-user", "line_cancelled", 3, "Customer closed"),
            ("manager-user", "alloc_cancellation", -3, "Customer closed"),
        ],
        key=str,
    )
    assert found[4:] == [
        ("manager-user", "line_cancelled", 5, "Customer found it elsewhere"),
        ("manager-user", "alloc_release", 3, "Queue position 1"),
        ("staff-user", "order_placed", None, ""),
    ]
    released = response.context["entries"][5]
    assert released.action == "alloc_release"
    assert released.links == ((release.number, release_url(release)),)
    # The page's own order is not linked to itself.
    assert all(number != order.number for e in response.context["entries"] for number, _ in e.links)
    order.refresh_from_db()
    assert order.cancelled_by == manager_user


def release_url(release):
    return reverse("orders:release-detail", args=[release.pk])


def test_purchase_order_history_records_sender_receiver_and_canceller(
    manager_client, staff_user, manager_user, warehouse, product
):
    po = sent_po(SupplierFactory(name="Acme"), warehouse, [(product, 10)], by=manager_user)
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={po.lines.get().pk: 4},
        idempotency_key="audit-1",
        by=staff_user,
        reference="DN-5",
    ).shipment
    purchase_order_cancel(purchase_order_id=po.pk, reason="Supplier out of stock", by=manager_user)

    response = manager_client.get(reverse("suppliers:purchaseorder-history", args=[po.pk]))

    assert response.status_code == 200
    assert rows(response) == [
        ("manager-user", "po_cancelled", None, "Supplier out of stock"),
        ("staff-user", "shipment_received", 4, "DN-5"),
        ("manager-user", "po_sent", None, ""),
        ("manager-user", "po_created", None, ""),
    ]
    assert response.context["entries"][1].what == shipment.number
    po.refresh_from_db()
    assert (po.sent_by, po.cancelled_by) == (manager_user, manager_user)


def test_history_is_for_managers_only_and_linked_from_detail_pages_for_them(
    client, staff_user, manager_user, warehouse, product
):
    order = place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)
    po = sent_po(SupplierFactory(), warehouse, [(product, 1)], by=manager_user)
    pages = [
        ("inventory:product-detail", "inventory:product-history", product.pk),
        ("orders:order-detail", "orders:order-history", order.pk),
        ("suppliers:purchaseorder-detail", "suppliers:purchaseorder-history", po.pk),
    ]
    assert manager_user.has_perm("inventory.view_audit")
    assert not staff_user.has_perm("inventory.view_audit")
    for user, allowed in ((staff_user, False), (manager_user, True)):
        client.force_login(user)
        for detail, history, pk in pages:
            history_url = reverse(history, args=[pk])
            assert client.get(history_url).status_code == (200 if allowed else 403)
            detail_page = client.get(reverse(detail, args=[pk])).content.decode()
            assert (f'href="{history_url}"' in detail_page) is allowed


def test_unknown_ids_are_404(manager_client, db):
    for name in ("inventory:product-history", "orders:order-history"):
        assert manager_client.get(reverse(name, args=[987654])).status_code == 404
    missing_po = reverse("suppliers:purchaseorder-history", args=[987654])
    assert manager_client.get(missing_po).status_code == 404


def test_reasons_are_shown_escaped(manager_client, staff_user, warehouse, product):
    give_stock(product, warehouse, 1, by=staff_user, reason='<script>alert("x")</script>')
    response = manager_client.get(reverse("inventory:product-history", args=[product.pk]))
    text = response.content.decode()
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text


def make_history(product, warehouse, user, entries: int):
    """`entries` adjustments, one minute apart, the newest last."""
    level = level_for(product, warehouse)
    for n in range(entries):
        stock_adjust(level_id=level.pk, delta=1, reason=f"Found #{n}", by=user)
    start = timezone.now() - dt.timedelta(days=1)
    for n, pk in enumerate(
        StockMovement.objects.filter(level=level).order_by("pk").values_list("pk", flat=True)
    ):
        StockMovement.objects.filter(pk=pk).update(created_at=start + dt.timedelta(minutes=n))


def test_history_pages_newest_first(manager_client, staff_user, warehouse, product):
    make_history(product, warehouse, staff_user, HISTORY_PER_PAGE + 10)
    url = reverse("inventory:product-history", args=[product.pk])

    first = manager_client.get(url)
    second = manager_client.get(url, {"page": 2})
    beyond = manager_client.get(url, {"page": "99"})
    junk = manager_client.get(url, {"page": "x<"})

    newest = [e.reason for e in first.context["entries"]]
    assert len(newest) == HISTORY_PER_PAGE
    assert newest[:2] == [f"Found #{HISTORY_PER_PAGE + 9}", f"Found #{HISTORY_PER_PAGE + 8}"]
    assert [e.reason for e in second.context["entries"]] == [
        f"Found #{n}" for n in range(9, -1, -1)
    ]
    # Out-of-range or nonsense page numbers show the nearest real page, never an error.
    assert beyond.status_code == 200
    assert beyond.context["page_obj"].number == 2
    assert junk.status_code == 200
    assert junk.context["page_obj"].number == 1


# GET a product's history as a manager:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's permissions (through groups)
#  4. SELECT the user's own permissions
#  5. SELECT the product
#  6. SELECT COUNT(*) over the union of the histories
#  7. SELECT one page of the union (ledger, safety stock, admin log, allocations)
HISTORY_QUERIES = 7


@pytest.mark.parametrize("entries", [2, 40])
def test_product_history_query_count_does_not_grow(
    manager_client,
    staff_user,
    manager_user,
    admin_user,
    warehouse,
    product,
    entries,
    django_assert_num_queries,
):
    make_history(product, warehouse, staff_user, entries)
    level = level_for(product, warehouse)
    for n in range(entries):
        safety_stock_set(level_ids=[level.pk], value=n + 1, by=manager_user, reason=f"Set {n}")
        admin_change(admin_user, product, ["Name"])
    for _ in range(entries):
        place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)
    url = reverse("inventory:product-history", args=[product.pk])
    manager_client.get(url)  # content types and permission caches warmed like any live process

    with django_assert_num_queries(HISTORY_QUERIES):
        response = manager_client.get(url)

    assert response.context["page_obj"].paginator.count == 4 * entries
    assert len(response.context["entries"]) == min(4 * entries, HISTORY_PER_PAGE)
    actions = {e.action for e in response.context["entries"]}
    assert {"safety_stock", "admin_2", "alloc_placement"} <= actions


@pytest.mark.parametrize("lines", [2, 25])
def test_order_history_query_count_does_not_grow(
    manager_client, staff_user, manager_user, warehouse, lines, django_assert_num_queries
):
    products = [ProductFactory() for _ in range(lines)]
    for item in products:
        give_stock(item, warehouse, 1, by=staff_user)
    order = place(CustomerFactory(), warehouse, [(p, 2) for p in products], by=staff_user)
    order_cancel(order_id=order.pk, reason="Changed plans", by=manager_user)
    url = reverse("orders:order-history", args=[order.pk])
    manager_client.get(url)

    with django_assert_num_queries(HISTORY_QUERIES):
        response = manager_client.get(url)

    # placed, cancelled, and per line: allocated at placement, freed, line cancelled
    assert response.context["page_obj"].paginator.count == 2 + 3 * lines
    assert SalesOrder.objects.get(pk=order.pk).cancelled_by == manager_user


@pytest.mark.parametrize("receipts", [2, 40])
def test_purchase_order_history_query_count_does_not_grow(
    manager_client,
    staff_user,
    manager_user,
    warehouse,
    product,
    receipts,
    django_assert_num_queries,
):
    po = sent_po(SupplierFactory(), warehouse, [(product, receipts)], by=manager_user)
    line = po.lines.get()
    for n in range(receipts):
        shipment_receive(
            purchase_order_id=po.pk,
            quantities={line.pk: 1},
            idempotency_key=f"count-{n}",
            by=staff_user,
        )
    url = reverse("suppliers:purchaseorder-history", args=[po.pk])
    manager_client.get(url)

    with django_assert_num_queries(HISTORY_QUERIES):
        response = manager_client.get(url)

    # created, sent, and one entry per receipt
    assert response.context["page_obj"].paginator.count == 2 + receipts
    actions = [e.action for e in response.context["entries"]]
    assert actions == ["shipment_received"] * receipts + ["po_sent", "po_created"]


def test_every_page_of_an_interleaved_history_is_a_slice_of_the_whole(
    manager_client, staff_user, manager_user, warehouse, product
):
    """Events of several sources, interleaved in time, over three pages: the pages put end to
    end are exactly the whole history read in one go, whatever each source gives each page
    (PostgreSQL cuts every source to the page's reach before uniting them)."""
    level = level_for(product, warehouse)
    for n in range(HISTORY_PER_PAGE + 15):
        stock_adjust(level_id=level.pk, delta=1, reason=f"Adjust {n}", by=staff_user)
        if n % 3 == 0:
            safety_stock_set(level_ids=[level.pk], value=n + 1, by=manager_user, reason=f"SS {n}")
        if n % 4 == 0:
            place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)
    # New times so the sources interleave and newest first is neither id nor source order.
    start = timezone.now() - dt.timedelta(days=2)
    for offset, (model, field) in enumerate(
        (
            (StockMovement, "created_at"),
            (SafetyStockChange, "changed_at"),
            (Allocation, "created_at"),
        )
    ):
        for n, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True)):
            minutes = (n * 7919 + offset * 333) % 1000  # a shuffle of the minutes
            model.objects.filter(pk=pk).update(**{field: start + dt.timedelta(minutes=minutes)})
    url = reverse("inventory:product-history", args=[product.pk])
    first_page = manager_client.get(url)
    pages = [first_page] + [
        manager_client.get(url, {"page": number})
        for number in first_page.context["page_obj"].paginator.page_range[1:]
    ]
    shown = [(e.at, e.action, e.reason) for page in pages for e in page.context["entries"]]

    parts = [
        *product_history_parts(product_id=product.pk),
        product_allocation_rows(product_id=product.pk),
    ]
    first, *rest = [part.rows for part in parts]
    whole = first.union(*rest, all=True).order_by("-a_at", "-a_row")
    assert len(pages) == 3
    assert shown == [(row["a_at"], row["a_action"], row["a_reason"]) for row in whole]
    assert {"adjustment", "safety_stock", "alloc_placement"} <= {
        action for _, action, _ in shown[:HISTORY_PER_PAGE]
    }


def test_history_rows_do_not_leak_from_other_products(manager_client, staff_user, warehouse):
    mine, other = ProductFactory(), ProductFactory()
    give_stock(mine, warehouse, 1, by=staff_user, reason="mine")
    give_stock(other, warehouse, 1, by=staff_user, reason="theirs")
    admin_change(staff_user, other, ["Name"])
    response = manager_client.get(reverse("inventory:product-history", args=[mine.pk]))
    assert [e.reason for e in response.context["entries"]] == ["mine"]
    assert Product.objects.count() == 2


def test_history_orders_events_a_fraction_of_a_millisecond_apart(
    manager_client, staff_user, warehouse, product
):
    """Times keep their microseconds on every database: the later event is listed first even
    when its row was written first."""
    give_stock(product, warehouse, 5, by=staff_user, reason="Later")
    give_stock(product, warehouse, 1, by=staff_user, reason="Earlier")
    later, earlier = StockMovement.objects.filter(level__product=product).order_by("id")
    moment = timezone.now().replace(microsecond=250_100)
    StockMovement.objects.filter(pk=later.pk).update(
        created_at=moment + dt.timedelta(microseconds=300)
    )
    StockMovement.objects.filter(pk=earlier.pk).update(created_at=moment)

    response = manager_client.get(reverse("inventory:product-history", args=[product.pk]))

    assert [entry.reason for entry in response.context["entries"]] == ["Later", "Earlier"]
