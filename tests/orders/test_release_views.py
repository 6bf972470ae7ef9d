"""The release review (propose, adjust, move up, confirm, stale plans) and the release page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from inventory.services import stock_adjust
from orders.forms import release as forms_release
from orders.models import Allocation, OrderLine, Priority, Release
from orders.services import ReleaseDecision, release_confirm, release_propose
from suppliers.services import purchase_order_create, purchase_order_send, shipment_receive
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, line_of, page_text, place

# --- helpers -------------------------------------------------------------------------------------


def review_url(warehouse, products, shipment=None) -> str:
    query = [("warehouse", warehouse.pk)] + [("product", p.pk) for p in products]
    if shipment is not None:
        query.append(("shipment", shipment.pk))
    return f"{reverse('orders:release-review')}?{urlencode(query)}"


def shown_lines(response) -> list[tuple[str, int, int]]:
    """(order number, waiting, value in the box) for every line on the page, in display order."""
    return [
        (row.line.order_number, row.line.waiting, row.value)
        for _, rows, _hidden in response.context["lines_form"].products()
        for row in rows
    ]


def post_data(response, **changes) -> dict:
    """The review form as the page would post it: its hidden state and each line's box."""
    form = response.context["confirm_form"]
    data = {
        "warehouse": form.initial["warehouse"],
        "product": form.initial["product"],
        "shipment": form.initial["shipment"] or "",
        "fingerprint": form.initial["fingerprint"],
        "moved_up": form.initial["moved_up"],
        "note": form.initial.get("note", ""),
        "confirm": "1",
    }
    for _, rows, _hidden in response.context["lines_form"].products():
        for row in rows:
            data[row.name] = row.value
    data.update(changes)
    return data


def qty(order, product) -> str:
    return f"qty_{line_of(order, product).pk}"


def state() -> tuple:
    """Everything a release can change, to prove a refused one applied nothing."""
    return (
        list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated")),
        list(
            OrderLine.objects.order_by("pk").values_list(
                "pk", "quantity_allocated", "quantity_shipped"
            )
        ),
        list(OrderLine.objects.order_by("pk").values_list("order__status", flat=True)),
        Allocation.objects.count(),
        Release.objects.count(),
        StockMovement.objects.count(),
    )


def ready_orders_shown(response) -> list:
    """The ready orders on the release page's current page of them."""
    return [row.record for row in response.context["ready_table"].page.object_list]


def allocations_shown(response) -> list:
    """The allocations on the release page's current page of them."""
    return [row.record for row in response.context["table"].page.object_list]


def errors_of(response) -> str:
    return " ".join(response.context["errors"])


@pytest.fixture
def queue(warehouse, product, staff_user):
    """Three orders waiting for WIDGET-1 and 10 free units: high priority goes first, then age."""
    orders = {
        "old_normal": place(
            CustomerFactory(), warehouse, [(product, 4)], by=staff_user, days_ago=5
        ),
        "new_high": place(
            CustomerFactory(),
            warehouse,
            [(product, 3)],
            by=staff_user,
            priority=Priority.HIGH,
            days_ago=1,
        ),
        "newest_normal": place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user),
    }
    give_stock(product, warehouse, 10, by=staff_user)
    return orders


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(client, queue, warehouse, product, method):
    before = state()
    response = getattr(client, method)(review_url(warehouse, [product]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert state() == before


def test_release_page_needs_login(client, db):
    response = client.get(reverse("orders:release-detail", args=[1]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewing_releases_alone_does_not_allow_releasing(client, queue, warehouse, product, method):
    user = UserFactory(username="viewer")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_release")
    )
    client.force_login(user)
    before = state()
    response = getattr(client, method)(review_url(warehouse, [product]))
    assert response.status_code == 403
    assert state() == before


def test_release_page_needs_the_view_permission(client, staff_user, queue, warehouse, product):
    release = _confirm_as_proposed(warehouse, product, staff_user)
    client.force_login(UserFactory(username="no-role"))
    assert client.get(reverse("orders:release-detail", args=[release.pk])).status_code == 403


def test_unknown_release_is_404(staff_client, db):
    assert staff_client.get(reverse("orders:release-detail", args=[424242])).status_code == 404


# --- the proposal ------------------------------------------------------------------------------


def test_review_proposes_in_queue_order_with_the_reason_for_each_line(
    staff_client, queue, warehouse, product
):
    response = staff_client.get(review_url(warehouse, [product]))

    assert response.status_code == 200
    assert shown_lines(response) == [
        (queue["new_high"].number, 3, 3),
        (queue["old_normal"].number, 4, 4),
        (queue["newest_normal"].number, 5, 3),
    ]
    text = page_text(response)
    assert "Position 1: high priority, waiting since" in text
    assert "(1 days) — gets all 3 waiting." in text
    assert "Position 2: normal priority" in text
    assert "gets 3 of 5: the stock runs out." in text
    assert "free 10" in text
    assert 'data-testid="release-confirm"' in text


def test_review_says_plainly_when_there_is_no_free_stock_or_nobody_waits(
    staff_client, staff_user, warehouse
):
    owed, unwanted, untouched = (
        ProductFactory(sku="OWED"),
        ProductFactory(sku="UNWANTED"),
        ProductFactory(sku="UNTOUCHED"),
    )
    place(CustomerFactory(), warehouse, [(owed, 2)], by=staff_user)
    give_stock(unwanted, warehouse, 5, by=staff_user)

    response = staff_client.get(review_url(warehouse, [owed, unwanted, untouched]))

    text = page_text(response)
    assert "No free stock of OWED to release" in text
    assert "Nobody is waiting for UNWANTED" in text
    assert "UNTOUCHED</span>" in text
    assert "no stock here and nobody waiting" in text
    assert 'data-testid="release-nothing"' in text
    assert 'data-testid="release-confirm"' not in text


@pytest.mark.parametrize(
    "query",
    [
        "",
        "warehouse=abc&product=1",
        "warehouse=999999&product=1",
        "product=1",
        "warehouse=WH",
        "warehouse={w}",
        "warehouse={w}&product=abc",
        "warehouse={w}&product=999999",
        "warehouse={w}&product={p}&shipment=abc",
        "warehouse={w}&product={p}&shipment=999999",
        "warehouse={w}&product={p}&shipment=-1",
    ],
)
def test_garbage_selections_are_explained_without_error(
    staff_client, queue, warehouse, product, query
):
    url = f"{reverse('orders:release-review')}?{query.format(w=warehouse.pk, p=product.pk)}"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["selection_form"].errors
    assert 'data-testid="selection-errors"' in page_text(response)
    assert response.context["plan"] is None


def test_a_shipment_from_another_warehouse_is_refused(
    staff_client, staff_user, manager_user, queue, warehouse, product
):
    elsewhere = WarehouseFactory(code="ELSE")
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=elsewhere.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 2, "1.00")],
        by=manager_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={po.lines.get().pk: 2},
        idempotency_key="e",
        by=staff_user,
    ).shipment
    response = staff_client.get(review_url(warehouse, [product], shipment))
    assert "not received at this warehouse" in page_text(response)


# The release review, whatever the number of waiting lines:
#  1. SELECT the session
#  2. SELECT the user
#  3. SELECT the user's own permissions
#  4. SELECT the permissions of their groups
#  5. SELECT the warehouse chosen in the query string (form validation)
#  6. SELECT the products chosen in the query string (form validation)
#  7. SELECT the warehouse again (release_propose checks it exists)
#  8. SELECT the products' stock levels with their products
#  9. SELECT the waiting lines with their order and customer (all queues at once)
# 10. SELECT the warehouse for the page header
REVIEW_QUERIES = 10


@pytest.mark.parametrize(("product_count", "line_count"), [(2, 10), (20, 200)])
def test_review_query_count_does_not_grow_with_products_or_waiting_lines(
    staff_client, staff_user, warehouse, product_count, line_count, django_assert_num_queries
):
    products = [ProductFactory() for _ in range(product_count)]
    # Each order waits for every product: line_count lines in all.
    for _ in range(line_count // product_count):
        place(CustomerFactory(), warehouse, [(product, 2) for product in products], by=staff_user)
    for product in products:
        give_stock(product, warehouse, line_count, by=staff_user)
    url = review_url(warehouse, products)
    with django_assert_num_queries(REVIEW_QUERIES):
        response = staff_client.get(url)
    assert len(shown_lines(response)) == line_count


@pytest.mark.parametrize("product_count", [2, 20])
def test_reviewing_one_product_of_a_shipment_reads_the_way_back_in_one_query(
    staff_client, staff_user, manager_user, warehouse, product_count, django_assert_num_queries
):
    products = [ProductFactory() for _ in range(product_count)]
    place(CustomerFactory(), warehouse, [(product, 2) for product in products], by=staff_user)
    shipment = receive(warehouse, products, by=staff_user, manager=manager_user)
    # As above, and:
    # 11. SELECT the shipment's warehouse (form validation)
    # 12. SELECT the products that arrived in the shipment (the link back to all of them)
    with django_assert_num_queries(REVIEW_QUERIES + 2):
        response = staff_client.get(review_url(warehouse, products[:1], shipment))
    path, _, query = response.context["whole_url"].partition("?")
    assert path == reverse("orders:release-review")
    assert parse_qs(query) == {
        "warehouse": [str(warehouse.pk)],
        "shipment": [str(shipment.pk)],
        "product": [str(product.pk) for product in products],
    }


def receive(warehouse, products, *, by, manager, quantity=5):
    """A shipment of `quantity` of each product, received at the warehouse."""
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, quantity, "1.00") for product in products],
        by=manager,
    )
    purchase_order_send(purchase_order_id=po.pk, by=manager)
    return shipment_receive(
        purchase_order_id=po.pk,
        quantities={line.pk: quantity for line in po.lines.all()},
        idempotency_key=f"rcv-{po.pk}",
        by=by,
    ).shipment


# --- a bounded page ----------------------------------------------------------------------------


@pytest.fixture
def long_queues(staff_user, warehouse, monkeypatch):
    """Two products; GEAR waits on five lines of 2 (old to new) with 7 free, BOLT on one line.
    The page is cut to two lines per product."""
    monkeypatch.setattr(forms_release, "PAGE_LINES", 5)
    gear, bolt = ProductFactory(sku="GEAR"), ProductFactory(sku="BOLT")
    orders = [
        place(CustomerFactory(), warehouse, [(gear, 2)], by=staff_user, days_ago=9 - n)
        for n in range(5)
    ]
    bolt_order = place(CustomerFactory(), warehouse, [(bolt, 1)], by=staff_user)
    give_stock(gear, warehouse, 7, by=staff_user)
    give_stock(bolt, warehouse, 1, by=staff_user)
    return gear, bolt, orders, bolt_order


def test_a_long_queue_shows_its_first_lines_and_sums_up_the_rest(
    staff_client, warehouse, long_queues
):
    gear, bolt, orders, _ = long_queues

    response = staff_client.get(review_url(warehouse, [gear, bolt]))

    assert [number for number, _, _ in shown_lines(response)][:2] == [o.number for o in orders[:2]]
    assert len(shown_lines(response)) == 3  # two of GEAR, the one of BOLT
    text = page_text(response)
    assert "3 more waiting lines get 3 units across 2 lines, as proposed." in text
    show_all = f'href="{review_url(warehouse, [gear])}"'.replace("&", "&amp;")
    assert show_all in text
    assert "Show all 5 lines of GEAR" in text


def test_show_all_lines_opens_the_product_alone_with_every_line(
    staff_client, warehouse, long_queues
):
    gear, _, orders, _ = long_queues

    response = staff_client.get(review_url(warehouse, [gear]))

    assert [number for number, _, _ in shown_lines(response)] == [o.number for o in orders]
    assert 'data-testid="release-show-all"' not in page_text(response)


def test_lines_beyond_the_shown_ones_are_released_as_proposed(
    staff_client, staff_user, warehouse, long_queues
):
    gear, bolt, orders, bolt_order = long_queues
    page = staff_client.get(review_url(warehouse, [gear, bolt]))
    data = post_data(page, **{qty(orders[0], gear): "0"})
    assert qty(orders[2], gear) not in data

    response = staff_client.post(reverse("orders:release-review"), data)

    assert response.status_code == 302
    # The skipped units stay free: lines not shown get exactly what the page said they would.
    given = [line_of(order, gear).quantity_allocated for order in orders]
    assert given == [0, 2, 2, 1, 0]
    assert line_of(bolt_order, bolt).quantity_allocated == 1
    level = StockLevel.objects.get(product=gear, warehouse=warehouse)
    assert (level.on_hand, level.allocated) == (7, 5)
    assert Allocation.objects.filter(line=line_of(orders[3], gear)).get().reason == (
        "Queue position 4"
    )


def test_a_decision_for_a_line_not_shown_but_in_the_plan_is_honoured(
    staff_client, warehouse, long_queues
):
    gear, bolt, orders, _ = long_queues
    page = staff_client.get(review_url(warehouse, [gear, bolt]))

    staff_client.post(
        reverse("orders:release-review"), post_data(page, **{qty(orders[3], gear): "0"})
    )

    assert [line_of(order, gear).quantity_allocated for order in orders] == [2, 2, 2, 0, 0]


def test_lines_not_shown_follow_a_stale_plan_never(
    staff_client, staff_user, warehouse, long_queues
):
    gear, bolt, _orders, _ = long_queues
    page = staff_client.get(review_url(warehouse, [gear, bolt]))
    give_stock(gear, warehouse, 4, by=staff_user)
    before = state()

    response = staff_client.post(reverse("orders:release-review"), post_data(page))

    assert state() == before
    assert "changed while you were reviewing" in errors_of(response)
    assert "3 more waiting lines get 6 units across 3 lines, as proposed." in page_text(response)


# --- confirming --------------------------------------------------------------------------------


def test_confirming_the_proposal_allocates_and_shows_the_release(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))

    response = staff_client.post(
        reverse("orders:release-review"), post_data(page, note="Pallet 7"), follow=True
    )

    release = Release.objects.get()
    assert response.redirect_chain[-1][0] == reverse("orders:release-detail", args=[release.pk])
    assert release.note == "Pallet 7"
    assert release.created_by == staff_user
    allocated = {name: line_of(order, product).quantity_allocated for name, order in queue.items()}
    assert allocated == {"new_high": 3, "old_normal": 4, "newest_normal": 3}
    assert StockLevel.objects.get(product=product, warehouse=warehouse).allocated == 10
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"{release.number}: released 10 units. 2 orders are now ready to ship."]


def test_confirming_counts_the_ready_orders_without_loading_them(
    staff_client, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    with CaptureQueriesContext(connection) as confirmed:
        response = staff_client.post(reverse("orders:release-review"), post_data(page))
    assert response.status_code == 302
    orders_read = [
        query["sql"]
        for query in confirmed.captured_queries
        if 'FROM "orders_salesorder" INNER JOIN "orders_customer"' in query["sql"]
    ]
    assert orders_read == []


def test_staff_can_give_less_and_skip_lines(staff_client, queue, warehouse, product):
    page = staff_client.get(review_url(warehouse, [product]))
    data = post_data(
        page,
        **{
            qty(queue["new_high"], product): "0",
            qty(queue["old_normal"], product): "2",
            qty(queue["newest_normal"], product): "5",
        },
    )

    staff_client.post(reverse("orders:release-review"), data)

    allocated = {name: line_of(order, product).quantity_allocated for name, order in queue.items()}
    assert allocated == {"new_high": 0, "old_normal": 2, "newest_normal": 5}
    assert Allocation.objects.filter(release__isnull=False).count() == 2


def test_giving_a_line_more_than_it_waits_for_is_refused_and_keeps_the_entries(
    staff_client, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    field = qty(queue["old_normal"], product)
    data = post_data(page, **{field: "5", qty(queue["new_high"], product): "1"})
    before = state()

    response = staff_client.post(reverse("orders:release-review"), data)

    assert response.status_code == 200
    assert state() == before
    assert f"{queue['old_normal'].number} waits for 4 of WIDGET-1; it cannot get 5." in errors_of(
        response
    )
    assert f'name="{field}" id="id_{field}" value="5"' in page_text(response)
    # The staff's other entries stay too, and the plan they saw is still the one being confirmed.
    assert response.context["lines_form"][qty(queue["new_high"], product)].value() == "1"
    assert response.context["confirm_form"].initial["fingerprint"] == data["fingerprint"]


def test_giving_more_than_is_free_is_refused(staff_client, queue, warehouse, product):
    page = staff_client.get(review_url(warehouse, [product]))
    data = post_data(page, **{qty(queue["newest_normal"], product): "5"})
    before = state()
    response = staff_client.post(reverse("orders:release-review"), data)
    assert state() == before
    assert "Only 10 of WIDGET-1 are free; the release gives out 12." in errors_of(response)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "at least 0"),
        ("1.5", "whole number"),
        ("three", "whole number"),
        ("", "Enter a quantity (0 skips this line)."),
        ("1000000001", "the most this field accepts"),
        ("1e999999999", "whole number"),
        ("9" * 5000, "the most this field accepts"),
    ],
)
def test_bad_quantities_are_refused_and_apply_nothing(
    staff_client, queue, warehouse, product, value, message
):
    page = staff_client.get(review_url(warehouse, [product]))
    field = qty(queue["old_normal"], product)
    before = state()

    response = staff_client.post(
        reverse("orders:release-review"), post_data(page, **{field: value})
    )

    assert response.status_code == 200
    assert state() == before
    assert message in " ".join(response.context["lines_form"].errors[field])
    assert "Some quantities need correcting; nothing was applied." in page_text(response)


def test_releasing_nothing_is_refused(staff_client, queue, warehouse, product):
    page = staff_client.get(review_url(warehouse, [product]))
    zeros = {qty(order, product): "0" for order in queue.values()}
    before = state()
    response = staff_client.post(reverse("orders:release-review"), post_data(page, **zeros))
    assert state() == before
    assert "Nothing to release: every line is at 0." in errors_of(response)


@pytest.mark.parametrize(
    "changes",
    [
        {"fingerprint": ""},
        {"warehouse": "abc"},
        {"product": ["999999"]},
        {"moved_up": "not json"},
        {"moved_up": '{"1": "x"}'},
        {"moved_up": '[["1", "reason"]]'},
        {"moved_up": '[[1, ""]]'},
        {"moved_up": json.dumps([[1, "x" * 256]])},
    ],
)
def test_tampered_hidden_fields_are_refused_without_error(
    staff_client, queue, warehouse, product, changes
):
    page = staff_client.get(review_url(warehouse, [product]))
    before = state()
    response = staff_client.post(reverse("orders:release-review"), post_data(page, **changes))
    assert response.status_code == 200
    assert state() == before
    assert response.context["selection_form"].errors


def test_a_decision_for_a_line_not_in_the_plan_is_refused_and_applies_nothing(
    staff_client, staff_user, queue, warehouse, product
):
    other_product = ProductFactory()
    outsider = place(CustomerFactory(), warehouse, [(other_product, 2)], by=staff_user)
    give_stock(other_product, warehouse, 2, by=staff_user)
    page = staff_client.get(review_url(warehouse, [product]))
    before = state()

    response = staff_client.post(
        reverse("orders:release-review"), post_data(page, **{qty(outsider, other_product): "2"})
    )

    assert response.status_code == 200
    assert state() == before
    line_id = line_of(outsider, other_product).pk
    assert errors_of(response) == (
        f"A quantity was sent for an order line that is not waiting in this release "
        f"(line {line_id}). Nothing was applied."
    )
    # The page still offers the plan the staff was reviewing.
    assert len(shown_lines(response)) == 3


@pytest.mark.parametrize("key", ["qty_999999", "qty_abc", "qty_"])
def test_a_decision_for_an_unknown_line_is_refused_without_error(
    staff_client, queue, warehouse, product, key
):
    page = staff_client.get(review_url(warehouse, [product]))
    before = state()
    response = staff_client.post(reverse("orders:release-review"), post_data(page, **{key: "1"}))
    assert response.status_code == 200
    assert state() == before
    assert "not waiting in this release" in errors_of(response)


# --- stale plans -------------------------------------------------------------------------------


def test_a_plan_made_stale_by_a_new_order_shows_the_message_and_the_fresh_proposal(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    urgent = place(
        CustomerFactory(), warehouse, [(product, 2)], by=staff_user, priority=Priority.URGENT
    )
    before = state()

    response = staff_client.post(reverse("orders:release-review"), post_data(page))

    assert response.status_code == 200
    assert state() == before
    assert "changed while you were reviewing" in errors_of(response)
    assert "Nothing was applied" in errors_of(response)
    assert shown_lines(response)[0] == (urgent.number, 2, 2)
    assert (
        response.context["confirm_form"].initial["fingerprint"]
        != page.context["confirm_form"].initial["fingerprint"]
    )
    # Confirming the fresh proposal now works.
    staff_client.post(reverse("orders:release-review"), post_data(response))
    assert line_of(urgent, product).quantity_allocated == 2
    assert Release.objects.count() == 1


def test_a_plan_made_stale_by_a_stock_change_applies_nothing(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    stock_adjust(level_id=level.pk, delta=-6, reason="Damaged in the yard", by=staff_user)
    before = state()

    response = staff_client.post(reverse("orders:release-review"), post_data(page))

    assert state() == before
    assert "Nothing was applied" in errors_of(response)
    assert "free 4" in page_text(response)
    assert [value for _, _, value in shown_lines(response)] == [3, 1, 0]


def test_a_plan_made_stale_by_another_release_applies_nothing(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    _confirm_as_proposed(warehouse, product, staff_user)
    before = state()
    response = staff_client.post(reverse("orders:release-review"), post_data(page))
    assert state() == before
    assert "Nothing was applied" in errors_of(response)
    assert [value for _, _, value in shown_lines(response)] == [0]


def test_a_stale_plan_keeps_the_reasons_of_moved_up_lines_that_still_wait(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    moved = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up=str(newest.pk), **{f"reason_{newest.pk}": "Hospital order"}),
    )
    place(CustomerFactory(), warehouse, [(product, 1)], by=staff_user)

    response = staff_client.post(reverse("orders:release-review"), post_data(moved))

    assert "Nothing was applied" in errors_of(response)
    first = response.context["lines_form"].plan.products[0].lines[0]
    assert first.line_id == newest.pk
    assert first.moved_up_reason == "Hospital order"
    assert json.loads(response.context["confirm_form"].initial["moved_up"]) == [
        [newest.pk, "Hospital order"]
    ]


# --- moving a line up --------------------------------------------------------------------------


def test_moving_a_line_up_without_a_reason_is_refused(staff_client, queue, warehouse, product):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    before = state()

    response = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up=str(newest.pk), **{f"reason_{newest.pk}": "  "}),
    )

    assert state() == before
    assert f"Give a reason for moving {queue['newest_normal'].number} up." in errors_of(response)
    assert [number for number, _, _ in shown_lines(response)] == [
        queue["new_high"].number,
        queue["old_normal"].number,
        queue["newest_normal"].number,
    ]
    assert response.context["confirm_form"].initial["moved_up"] == "[]"


def test_moving_a_line_up_with_a_reason_puts_it_first_and_confirm_records_why(
    staff_client, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)

    moved = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up=str(newest.pk), **{f"reason_{newest.pk}": "Hospital order"}),
    )

    assert moved.status_code == 200
    assert Release.objects.count() == 0
    assert shown_lines(moved) == [
        (queue["newest_normal"].number, 5, 5),
        (queue["new_high"].number, 3, 3),
        (queue["old_normal"].number, 4, 2),
    ]
    text = page_text(moved)
    assert "Moved up from position 3: Hospital order" in text
    assert f"{queue['newest_normal'].number} moved up." in text

    staff_client.post(reverse("orders:release-review"), post_data(moved))

    assert line_of(queue["newest_normal"], product).quantity_allocated == 5
    assert line_of(queue["old_normal"], product).quantity_allocated == 2
    allocation = Allocation.objects.get(line=newest, release__isnull=False)
    assert allocation.reason == "Moved up: Hospital order"


def test_a_moved_up_line_can_be_put_back(staff_client, queue, warehouse, product):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    moved = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up=str(newest.pk), **{f"reason_{newest.pk}": "Hospital order"}),
    )
    back = staff_client.post(
        reverse("orders:release-review"), post_data(moved, move_back=str(newest.pk))
    )
    assert shown_lines(back)[-1] == (queue["newest_normal"].number, 5, 3)
    assert back.context["confirm_form"].initial["moved_up"] == "[]"


def test_moving_up_a_line_that_no_longer_waits_shows_the_fresh_proposal(
    staff_client, staff_user, queue, warehouse, product
):
    page = staff_client.get(review_url(warehouse, [product]))
    response = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up="999999", **{"reason_999999": "Because"}),
    )
    assert response.status_code == 200
    # The same words as when the service itself finds the plan stale.
    assert "changed while you were reviewing" in errors_of(response)
    assert "Nothing was applied" in errors_of(response)
    assert Release.objects.count() == 0


# --- from receiving, and the result page -------------------------------------------------------


def test_after_receiving_the_review_covers_the_shipment(
    staff_client, staff_user, manager_user, warehouse, product
):
    waiting = place(CustomerFactory(), warehouse, [(product, 4)], by=staff_user)
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 6, "1.00")],
        by=manager_user,
    )
    purchase_order_send(purchase_order_id=po.pk, by=manager_user)
    form = staff_client.get(reverse("suppliers:receive", args=[po.pk])).context["form"]
    received = staff_client.post(
        reverse("suppliers:receive", args=[po.pk]),
        {"idempotency_key": form["idempotency_key"].value(), f"line_{po.lines.get().pk}": "6"},
    )

    page = staff_client.get(received["Location"])

    shipment = po.shipments.get()
    assert shipment.number in page_text(page)
    assert shown_lines(page) == [(waiting.number, 4, 4)]
    staff_client.post(reverse("orders:release-review"), post_data(page))
    release = Release.objects.get()
    assert release.shipment == shipment
    assert Allocation.objects.get(release=release).shipment == shipment


def _confirm_as_proposed(warehouse, product, by, products=None):
    plan = release_propose(
        warehouse_id=warehouse.pk, product_ids=[p.pk for p in (products or [product])]
    )
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
        for entry in plan.products
        for line in entry.lines
    ]
    return release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=decisions,
        by=by,
    ).release


def test_release_page_lists_allocations_and_the_orders_that_became_ready(
    staff_client, staff_user, warehouse, product
):
    other = ProductFactory(sku="OTHER-1")
    ready = place(
        CustomerFactory(), warehouse, [(product, 3)], by=staff_user, priority=Priority.HIGH
    )
    partly = place(CustomerFactory(), warehouse, [(product, 2), (other, 1)], by=staff_user)
    short = place(CustomerFactory(), warehouse, [(product, 5)], by=staff_user)
    give_stock(product, warehouse, 7, by=staff_user)
    release = _confirm_as_proposed(warehouse, product, staff_user)

    response = staff_client.get(reverse("orders:release-detail", args=[release.pk]))

    assert response.status_code == 200
    assert ready_orders_shown(response) == [ready]
    text = page_text(response)
    assert reverse("orders:order-ship", args=[ready.pk]) in text
    assert reverse("orders:order-ship", args=[partly.pk]) not in text
    rows = [
        (a.line.order.number, a.line.order.customer.name, a.line.product.sku, a.quantity, a.reason)
        for a in allocations_shown(response)
    ]
    assert rows == [
        (ready.number, ready.customer.name, "WIDGET-1", 3, "Queue position 1"),
        (partly.number, partly.customer.name, "WIDGET-1", 2, "Queue position 2"),
        (short.number, short.customer.name, "WIDGET-1", 2, "Queue position 3"),
    ]
    assert response.context["summary"]["units"] == 7
    assert short.number in text


def test_release_page_without_the_ship_permission_has_no_ship_links(
    client, staff_user, queue, warehouse, product
):
    release = _confirm_as_proposed(warehouse, product, staff_user)
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_release")
    )
    client.force_login(viewer)
    response = client.get(reverse("orders:release-detail", args=[release.pk]))
    assert response.status_code == 200
    assert len(ready_orders_shown(response)) == 2
    assert "/ship/" not in page_text(response)


def test_an_order_shipped_since_is_no_longer_listed_as_ready(
    staff_client, staff_user, queue, warehouse, product
):
    from orders.services import order_ship

    release = _confirm_as_proposed(warehouse, product, staff_user)
    order_ship(order_id=queue["new_high"].pk, by=staff_user)
    response = staff_client.get(reverse("orders:release-detail", args=[release.pk]))
    assert ready_orders_shown(response) == [queue["old_normal"]]
    assert queue["new_high"].number in page_text(response)  # still among the allocations


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("product_id", ["9223372036854775808", "1" * 40, "\u00b2", "-3"])
def test_a_product_id_out_of_range_is_refused_not_an_error(
    staff_client, queue, warehouse, method, product_id
):
    data = {"warehouse": warehouse.pk, "product": product_id, "confirm": "1"}
    before = state()

    response = getattr(staff_client, method)(reverse("orders:release-review"), data)

    assert response.status_code == 200
    assert state() == before
