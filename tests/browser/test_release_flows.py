"""Receiving a delivery and releasing it to the waiting orders, in queue order, as staff click it;
and two staff confirming the same release review, where the second must see a fresh proposal."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from orders.forms import release as forms_release
from orders.models import Allocation, OrderLine, Priority, Release, SalesOrderStatus
from suppliers.services import shipment_receive
from tests.browser.conftest import days_ago, nav
from tests.factories import ProductFactory
from tests.helpers import give_stock, level_for, line_of, place, sent_po

pytestmark = pytest.mark.django_db(transaction=True)


def test_receive_a_purchase_order_and_release_it_in_queue_order(
    page, log_in, staff_user, warehouse, customers, supplier
):
    gear = ProductFactory(sku="GEAR-7", name="Spur gear")
    acme, birch, cobalt = customers
    # Queue order: high priority first, then the oldest; the low-priority order is the oldest of
    # all and still comes last.
    normal = place(acme, warehouse, [(gear, 4)], by=staff_user, placed_at=days_ago(3))
    high = place(
        birch, warehouse, [(gear, 3)], by=staff_user, priority=Priority.HIGH, placed_at=days_ago(1)
    )
    low = place(
        cobalt, warehouse, [(gear, 5)], by=staff_user, priority=Priority.LOW, placed_at=days_ago(5)
    )
    po = sent_po(supplier, warehouse, [(gear, 10)], by=staff_user)

    log_in(page, staff_user)
    nav(page, "Receiving").click()
    expect(page.get_by_role("heading", name="Expected deliveries")).to_be_visible()
    page.get_by_role("row").filter(has_text=po.number).get_by_role("link", name="Receive").click()
    expect(page.get_by_role("heading", name=f"Receive {po.number}")).to_be_visible()
    expect(page.get_by_label("GEAR-7 arrived")).to_have_value("10")
    page.get_by_label("Delivery reference").fill("DN-5521")
    page.get_by_role("button", name="Confirm receipt").click()

    expect(page).to_have_url(re.compile(r"/releases/review/\?"))
    expect(page.get_by_role("alert").filter(has_text="Received")).to_contain_text(
        f"against {po.number}: 10 units. {po.number} is now received."
    )
    expect(page.get_by_role("heading", name="Release stock to waiting orders")).to_be_visible()
    product_card = page.get_by_test_id("release-product").filter(has_text="GEAR-7")
    expect(product_card).to_contain_text("free 10")
    lines = product_card.get_by_test_id("release-line")
    expect(lines).to_have_count(3)
    proposal = [
        (high, "3", "Position 1: high priority", "gets all 3 waiting"),
        (normal, "4", "Position 2: normal priority", "gets all 4 waiting"),
        (low, "3", "Position 3: low priority", "gets 3 of 5: the stock runs out"),
    ]
    for row, (order, give, position, gets) in zip(lines.all(), proposal, strict=True):
        expect(row.get_by_role("cell").nth(1)).to_have_text(order.number)
        expect(row.get_by_label(f"Units for {order.number}")).to_have_value(give)
        reason = row.get_by_test_id("release-reason")
        expect(reason).to_contain_text(position)
        expect(reason).to_contain_text("waiting since")
        expect(reason).to_contain_text(gets)
    page.get_by_label("Note for the record").fill("Morning delivery")
    page.get_by_role("button", name="Confirm release").click()

    expect(page).to_have_url(re.compile(r"/releases/\d+/$"))
    release = Release.objects.get()
    assert page.url.endswith(f"/releases/{release.pk}/")
    expect(page.get_by_role("alert").filter(has_text=release.number)).to_contain_text(
        "released 10 units. 2 orders are now ready to ship."
    )
    ready = page.get_by_test_id("ready-order")
    expect(ready).to_have_count(2)
    expect(ready.nth(0)).to_contain_text(high.number)
    expect(ready.nth(1)).to_contain_text(normal.number)
    expect(page.get_by_test_id("ready-orders")).not_to_contain_text(low.number)
    expect(page.get_by_test_id("release-allocations")).to_contain_text(low.number)

    for order in (high, normal, low):
        order.refresh_from_db()
    assert [order.status for order in (high, normal, low)] == [
        SalesOrderStatus.READY,
        SalesOrderStatus.READY,
        SalesOrderStatus.BACKORDERED,
    ]
    assert [line_of(order, gear).quantity_allocated for order in (high, normal, low)] == [3, 4, 3]
    assert release.shipment.purchase_order_id == po.pk
    assert release.note == "Morning delivery"
    level = level_for(gear, warehouse)
    assert (level.on_hand, level.allocated) == (10, 10)


def test_confirming_a_stale_release_review_applies_nothing_and_shows_the_fresh_proposal(
    page, log_in, open_session, staff_user, warehouse, customers
):
    gear = ProductFactory(sku="GEAR-7")
    first = place(customers[0], warehouse, [(gear, 2)], by=staff_user, placed_at=days_ago(2))
    second = place(customers[1], warehouse, [(gear, 3)], by=staff_user, placed_at=days_ago(1))
    give_stock(gear, warehouse, 5, by=staff_user, reason="Found on a pallet")
    review = "/releases/review/?" + urlencode({"warehouse": warehouse.pk, "product": gear.pk})

    desk_a, desk_b = log_in(page, staff_user), log_in(open_session(), staff_user)
    for desk in (desk_a, desk_b):
        desk.goto(review)
        expect(desk.get_by_label(f"Units for {first.number}")).to_have_value("2")
        expect(desk.get_by_label(f"Units for {second.number}")).to_have_value("3")

    # A gives the first order its 2 and holds the second back.
    desk_a.get_by_label(f"Units for {second.number}").fill("0")
    desk_a.get_by_label("Note for the record").fill("Second order on credit hold")
    desk_a.get_by_role("button", name="Confirm release").click()
    expect(desk_a.get_by_role("alert").filter(has_text="released 2 units")).to_be_visible()
    applied = list(Allocation.objects.values_list("line_id", "quantity"))
    assert applied == [(line_of(first, gear).pk, 2)]

    # B still has the old plan (2 and 3) on screen and confirms it.
    desk_b.get_by_role("button", name="Confirm release").click()
    errors = desk_b.get_by_test_id("release-errors")
    expect(errors).to_contain_text("changed while you were reviewing")
    expect(errors).to_contain_text("Nothing was applied")
    expect(desk_b.get_by_test_id("release-line")).to_have_count(1)
    expect(desk_b.get_by_label(f"Units for {first.number}")).to_have_count(0)
    expect(desk_b.get_by_label(f"Units for {second.number}")).to_have_value("3")
    assert Release.objects.count() == 1
    assert list(Allocation.objects.values_list("line_id", "quantity")) == applied
    assert OrderLine.objects.get(order=first).quantity_allocated == 2
    assert OrderLine.objects.get(order=second).quantity_allocated == 0

    # The fresh proposal is what B now confirms, and the first order is not served twice.
    desk_b.get_by_role("button", name="Confirm release").click()
    expect(desk_b.get_by_role("alert").filter(has_text="released 3 units")).to_be_visible()
    assert Release.objects.count() == 2
    assert line_of(first, gear).quantity_allocated == 2
    assert line_of(second, gear).quantity_allocated == 3
    level = level_for(gear, warehouse)
    assert (level.on_hand, level.allocated) == (5, 5)


def test_a_long_queue_opens_alone_from_a_large_release_review(
    page, log_in, staff_user, manager_user, warehouse, customers, supplier, monkeypatch
):
    # Two lines per product when several are reviewed, five when one is opened alone.
    monkeypatch.setattr(forms_release, "PAGE_LINES", 5)
    gear, bolt = ProductFactory(sku="GEAR-7"), ProductFactory(sku="BOLT-3")
    orders = [
        place(customers[n % 3], warehouse, [(gear, 2)], by=staff_user, placed_at=days_ago(9 - n))
        for n in range(5)
    ]
    bolt_order = place(customers[0], warehouse, [(bolt, 1)], by=staff_user)
    po = sent_po(supplier, warehouse, [(gear, 7), (bolt, 1)], by=manager_user)
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={line.pk: line.quantity_ordered for line in po.lines.all()},
        idempotency_key="dn-77",
        by=staff_user,
    ).shipment
    query = [("warehouse", warehouse.pk), ("shipment", shipment.pk)]
    whole = "/releases/review/?" + urlencode([*query, ("product", gear.pk), ("product", bolt.pk)])

    log_in(page, staff_user)
    page.goto(whole)
    card = page.get_by_test_id("release-product").filter(has_text="GEAR-7")
    expect(card.get_by_test_id("release-line")).to_have_count(2)
    expect(card.get_by_test_id("release-hidden-lines")).to_contain_text(
        "3 more waiting lines get 3 units across 2 lines, as proposed."
    )
    expect(page.get_by_label(f"Units for {orders[3].number}")).to_have_count(0)

    card.get_by_role("link", name="Show all 5 lines of GEAR-7").click()

    expect(page).to_have_url(re.compile(r"/releases/review/\?"))
    expect(page.get_by_test_id("release-product")).to_have_count(1)
    expect(page.get_by_test_id("release-line")).to_have_count(5)
    expect(page.get_by_test_id("release-hidden-lines")).to_have_count(0)
    expect(page.get_by_label(f"Units for {orders[3].number}")).to_have_value("1")
    back = page.get_by_role("link", name=f"Back to all products of {shipment.number}")
    expect(back).to_be_visible()
    # The fourth order is on credit hold; the fifth gets the unit instead, ahead of nobody.
    page.get_by_label(f"Units for {orders[3].number}").fill("0")
    page.get_by_label(f"Units for {orders[4].number}").fill("1")
    page.get_by_role("button", name="Confirm release").click()

    expect(page).to_have_url(re.compile(r"/releases/\d+/$"))
    expect(page.get_by_role("alert").filter(has_text="released 7 units")).to_be_visible()
    assert [line_of(order, gear).quantity_allocated for order in orders] == [2, 2, 2, 0, 1]
    assert line_of(bolt_order, bolt).quantity_allocated == 0

    # Back on the whole shipment, only BOLT-3 is left to release.
    page.goto(whole)
    expect(page.get_by_test_id("release-product").filter(has_text="GEAR-7")).to_contain_text(
        "free 0"
    )
    bolt_card = page.get_by_test_id("release-product").filter(has_text="BOLT-3")
    expect(bolt_card.get_by_label(f"Units for {bolt_order.number}")).to_have_value("1")
