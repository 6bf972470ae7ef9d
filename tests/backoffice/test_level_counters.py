"""The stored StockLevel counters stay exact: after every service that changes order lines or
purchase order lines, `backordered` is the units waiting on the level's order lines and `on_order`
what its sent or partly received purchase order lines still expect, check_stock agrees, a damaged
counter is reported by SKU and warehouse, and level_counters_rebuild() mends it.

The expected values are recounted here from the lines with plain Python arithmetic, independent of
both the services and backoffice.integrity.
"""

import datetime as dt
import uuid

import pytest
from django.contrib.messages import get_messages
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from backoffice.integrity import (
    Discrepancy,
    level_backordered_mismatches,
    level_counters_rebuild,
    level_missing_violations,
    level_on_order_mismatches,
    stock_discrepancies,
)
from inventory.models import StockLevel
from orders.models import OrderLine, Priority, SalesOrder
from orders.services import (
    ReleaseDecision,
    order_cancel,
    order_line_cancel,
    order_ship,
    release_confirm,
    release_propose,
)
from suppliers.models import OPEN_PO_STATUSES, PurchaseOrderLine, PurchaseOrderStatus
from suppliers.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)
from tests.factories import (
    CustomerFactory,
    OrderLineFactory,
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SalesOrderFactory,
    SupplierFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, line_of, place, sent_po

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def recounted(product, warehouse) -> tuple[int, int]:
    """(backordered, on order) of a product × warehouse, from its lines."""
    waiting = sum(
        ordered - allocated - shipped - cancelled
        for ordered, allocated, shipped, cancelled in OrderLine.objects.filter(
            product=product, order__warehouse=warehouse
        ).values_list(
            "quantity_ordered", "quantity_allocated", "quantity_shipped", "quantity_cancelled"
        )
    )
    outstanding = sum(
        max(0, ordered - received)
        for ordered, received in PurchaseOrderLine.objects.filter(
            product=product,
            purchase_order__warehouse=warehouse,
            purchase_order__status__in=OPEN_PO_STATUSES,
        ).values_list("quantity_ordered", "quantity_received")
    )
    return waiting, outstanding


def assert_counters(product, warehouse, *, backordered: int, on_order: int) -> StockLevel:
    """The level stores exactly what its lines say, which is what the scenario expects, and
    check_stock finds nothing wrong anywhere."""
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert recounted(product, warehouse) == (backordered, on_order)
    assert (level.backordered, level.on_order) == (backordered, on_order)
    assert stock_discrepancies() == []
    return level


def receive(po, quantities: dict, *, by):
    lines = {line.product_id: line.pk for line in po.lines.all()}
    return shipment_receive(
        purchase_order_id=po.pk,
        quantities={lines[product.pk]: qty for product, qty in quantities.items()},
        idempotency_key=uuid.uuid4().hex,
        by=by,
    )


def draft_po(supplier, warehouse, lines, *, by):
    return purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=7),
        lines=[(product.pk, quantity, "2.00") for product, quantity in lines],
        by=by,
    )


@pytest.fixture
def customer():
    return CustomerFactory()


@pytest.fixture
def supplier():
    return SupplierFactory()


@pytest.fixture
def stocked(product, warehouse, staff_user):
    """WIDGET-1 with 10 on the shelf at MAIN and nobody waiting."""
    give_stock(product, warehouse, 10, by=staff_user)
    return product


# --- orders: backordered -------------------------------------------------------------------------


def test_fully_covered_order_backorders_nothing(stocked, warehouse, customer, staff_user):
    place(customer, warehouse, [(stocked, 4)], by=staff_user)

    level = assert_counters(stocked, warehouse, backordered=0, on_order=0)
    assert level.allocated == 4


def test_partly_covered_order_backorders_the_rest(stocked, warehouse, customer, staff_user):
    place(customer, warehouse, [(stocked, 14)], by=staff_user)

    level = assert_counters(stocked, warehouse, backordered=4, on_order=0)
    assert level.allocated == 10


def test_uncovered_order_backorders_everything_on_a_new_level(
    product, warehouse, customer, staff_user
):
    assert not StockLevel.objects.filter(product=product).exists()

    place(customer, warehouse, [(product, 5)], by=staff_user)

    assert_counters(product, warehouse, backordered=5, on_order=0)


def test_order_behind_a_queue_backorders_everything_despite_stock_on_the_shelf(
    stocked, warehouse, customer, staff_user
):
    place(customer, warehouse, [(stocked, 14)], by=staff_user)
    give_stock(stocked, warehouse, 3, by=staff_user, reason="Found on a shelf")

    place(CustomerFactory(), warehouse, [(stocked, 2)], by=staff_user)

    # The 3 found units are owed to the 4 already waiting (rule 3): the new 2 wait as well.
    level = assert_counters(stocked, warehouse, backordered=6, on_order=0)
    assert (level.on_hand, level.allocated) == (13, 10)


def test_each_line_counts_on_its_own_products_level(warehouse, customer, staff_user):
    bolts, tape = ProductFactory(sku="BOLT-M8"), ProductFactory(sku="TAPE-48")
    other = WarehouseFactory(code="EAST")
    give_stock(bolts, warehouse, 2, by=staff_user)

    place(customer, warehouse, [(bolts, 5), (tape, 4)], by=staff_user)
    place(customer, other, [(bolts, 7)], by=staff_user)

    assert_counters(bolts, warehouse, backordered=3, on_order=0)
    assert_counters(tape, warehouse, backordered=4, on_order=0)
    assert_counters(bolts, other, backordered=7, on_order=0)


def test_cancelling_an_order_takes_its_waiting_units_off(stocked, warehouse, staff_user):
    first = place(CustomerFactory(), warehouse, [(stocked, 14)], by=staff_user)
    place(CustomerFactory(), warehouse, [(stocked, 3)], by=staff_user)
    assert_counters(stocked, warehouse, backordered=7, on_order=0)

    order_cancel(order_id=first.pk, reason="Customer went elsewhere", by=staff_user)

    level = assert_counters(stocked, warehouse, backordered=3, on_order=0)
    assert level.allocated == 0


def test_cancelling_one_line_takes_only_its_waiting_units_off(warehouse, customer, staff_user):
    bolts, tape = ProductFactory(sku="BOLT-M8"), ProductFactory(sku="TAPE-48")
    give_stock(bolts, warehouse, 2, by=staff_user)
    order = place(customer, warehouse, [(bolts, 5), (tape, 4)], by=staff_user)

    result = order_line_cancel(
        line_id=line_of(order, bolts).pk, reason="Bolts no longer needed", by=staff_user
    )

    assert result.freed == {bolts.pk: 2}
    assert_counters(bolts, warehouse, backordered=0, on_order=0)
    assert_counters(tape, warehouse, backordered=4, on_order=0)


def test_release_with_a_skip_and_a_partial_give_takes_only_the_given_units_off(
    product, warehouse, staff_user
):
    first, second, third = (
        place(CustomerFactory(), warehouse, [(product, quantity)], by=staff_user)
        for quantity in (4, 5, 3)
    )
    give_stock(product, warehouse, 6, by=staff_user, reason="Delivery")
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])

    release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=[product.pk],
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line_of(first, product).pk, quantity=0),  # skipped
            ReleaseDecision(line_id=line_of(second, product).pk, quantity=4),  # 4 of 5
            ReleaseDecision(line_id=line_of(third, product).pk, quantity=2),  # 2 of 3
        ],
        by=staff_user,
    )

    level = assert_counters(product, warehouse, backordered=6, on_order=0)
    assert level.allocated == 6
    assert [line_of(o, product).quantity_backordered for o in (first, second, third)] == [4, 1, 1]


def test_shipping_changes_neither_counter(stocked, warehouse, customer, supplier, staff_user):
    order = place(customer, warehouse, [(stocked, 14)], by=staff_user)
    sent_po(supplier, warehouse, [(stocked, 8)], by=staff_user)

    order_ship(order_id=order.pk, by=staff_user, quantities={line_of(order, stocked).pk: 6})
    assert_counters(stocked, warehouse, backordered=4, on_order=8)
    order_ship(order_id=order.pk, by=staff_user)

    level = assert_counters(stocked, warehouse, backordered=4, on_order=8)
    assert (level.on_hand, level.allocated) == (0, 0)


# --- purchase orders: on order -------------------------------------------------------------------


def test_a_draft_never_counts_and_cancelling_it_changes_nothing(
    stocked, warehouse, supplier, staff_user
):
    draft = draft_po(supplier, warehouse, [(stocked, 10)], by=staff_user)
    assert_counters(stocked, warehouse, backordered=0, on_order=0)

    purchase_order_cancel(purchase_order_id=draft.pk, reason="Ordered by phone", by=staff_user)

    assert_counters(stocked, warehouse, backordered=0, on_order=0)


def test_sending_counts_every_line_on_its_level(warehouse, supplier, staff_user):
    bolts, tape = ProductFactory(sku="BOLT-M8"), ProductFactory(sku="TAPE-48")
    other = WarehouseFactory(code="EAST")
    draft = draft_po(supplier, warehouse, [(bolts, 10), (tape, 3)], by=staff_user)
    sent_po(supplier, other, [(bolts, 6)], by=staff_user)

    purchase_order_send(purchase_order_id=draft.pk, by=staff_user)

    # Neither product had a level at MAIN: sending creates them.
    assert_counters(bolts, warehouse, backordered=0, on_order=10)
    assert_counters(tape, warehouse, backordered=0, on_order=3)
    assert_counters(bolts, other, backordered=0, on_order=6)


def test_receiving_part_then_the_rest_takes_what_arrived_off(
    product, warehouse, supplier, staff_user
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)

    receive(po, {product: 4}, by=staff_user)
    level = assert_counters(product, warehouse, backordered=0, on_order=6)
    assert level.on_hand == 4

    receive(po, {product: 6}, by=staff_user)
    level = assert_counters(product, warehouse, backordered=0, on_order=0)
    po.refresh_from_db()
    assert (po.status, level.on_hand) == (PurchaseOrderStatus.RECEIVED, 10)


@pytest.mark.parametrize("deliveries", [(11,), (6, 5)])
def test_tolerated_over_receipt_takes_on_order_to_zero_not_below(
    product, warehouse, supplier, staff_user, settings, deliveries
):
    settings.BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT = 10
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    other = sent_po(supplier, warehouse, [(product, 5)], by=staff_user)

    for quantity in deliveries:
        receive(po, {product: quantity}, by=staff_user)

    # The unit too many does not eat into what the other order still expects.
    level = assert_counters(product, warehouse, backordered=0, on_order=5)
    assert level.on_hand == 11
    assert other.lines.get().outstanding == 5


def test_cancelling_a_partly_received_order_takes_only_the_outstanding_rest_off(
    product, warehouse, supplier, staff_user
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    sent_po(supplier, warehouse, [(product, 7)], by=staff_user)
    receive(po, {product: 4}, by=staff_user)
    assert_counters(product, warehouse, backordered=0, on_order=13)

    purchase_order_cancel(purchase_order_id=po.pk, reason="Supplier ran out", by=staff_user)

    level = assert_counters(product, warehouse, backordered=0, on_order=7)
    assert level.on_hand == 4


def test_cancelling_a_sent_order_takes_all_of_it_off(product, warehouse, supplier, staff_user):
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)

    purchase_order_cancel(purchase_order_id=po.pk, reason="Ordered twice", by=staff_user)

    assert_counters(product, warehouse, backordered=0, on_order=0)


def test_a_day_of_everything_keeps_both_counters(warehouse, supplier, staff_user):
    """Orders wait for a delivery that arrives, is released and shipped, while other purchase
    orders are sent and cancelled: each step leaves both counters exact."""
    product = ProductFactory(sku="BOLT-M8")
    orders = [
        place(CustomerFactory(), warehouse, [(product, quantity)], by=staff_user)
        for quantity in (3, 4, 5)
    ]
    assert_counters(product, warehouse, backordered=12, on_order=0)
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    spare = sent_po(supplier, warehouse, [(product, 6)], by=staff_user)
    assert_counters(product, warehouse, backordered=12, on_order=16)

    shipment = receive(po, {product: 8}, by=staff_user).shipment
    assert_counters(product, warehouse, backordered=12, on_order=8)
    plan = release_propose(
        warehouse_id=warehouse.pk, product_ids=[product.pk], shipment_id=shipment.pk
    )
    release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for entry in plan.products
            for line in entry.lines
        ],
        shipment_id=shipment.pk,
        by=staff_user,
    )
    assert_counters(product, warehouse, backordered=4, on_order=8)
    order_ship(order_id=orders[0].pk, by=staff_user)
    order_cancel(order_id=orders[2].pk, reason="Too late", by=staff_user)
    purchase_order_cancel(purchase_order_id=spare.pk, reason="Not needed", by=staff_user)

    level = assert_counters(product, warehouse, backordered=0, on_order=2)
    assert (level.on_hand, level.allocated) == (5, 4)


# --- damaged counters ----------------------------------------------------------------------------


@pytest.fixture
def counted(product, warehouse, customer, supplier, staff_user):
    """WIDGET-1 at MAIN with 4 units waiting and 6 still expected from a partly received order."""
    place(customer, warehouse, [(product, 4)], by=staff_user)
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    receive(po, {product: 4}, by=staff_user)
    # The 4 that arrived are owed to the waiting order until released; nothing else moved.
    return assert_counters(product, warehouse, backordered=4, on_order=6)


@pytest.mark.parametrize(
    ("counter", "check", "what"),
    [
        ("backordered", "level_backordered", "the units waiting on its order lines"),
        ("on_order", "level_on_order", "the units outstanding on its open purchase order lines"),
    ],
)
@pytest.mark.parametrize("change", [3, -4])
def test_a_tampered_counter_is_reported_by_sku_and_warehouse_and_rebuilt(
    counted, counter, check, what, change
):
    right = getattr(counted, counter)
    StockLevel.objects.filter(pk=counted.pk).update(**{counter: F(counter) + change})
    label = counter.replace("_", " ")

    assert stock_discrepancies() == [
        Discrepancy(
            check=check,
            subject="WIDGET-1 @ MAIN",
            expected=f"{label} {right} ({what})",
            found=f"{label} {right + change}",
        )
    ]
    assert str(stock_discrepancies()[0]) == (
        f"WIDGET-1 @ MAIN: expected {label} {right} ({what}), found {label} {right + change}"
    )

    level_counters_rebuild()

    counted.refresh_from_db()
    assert getattr(counted, counter) == right
    assert stock_discrepancies() == []


def test_rebuild_leaves_exact_counters_as_they_are(counted, staff_user, django_assert_num_queries):
    other = ProductFactory()
    give_stock(other, counted.warehouse, 5, by=staff_user)

    # Two reads for the pairs that need a level, one insert of the missing ones, one UPDATE.
    with django_assert_num_queries(4):
        level_counters_rebuild()

    assert list(
        StockLevel.objects.order_by("pk").values_list("product__sku", "backordered", "on_order")
    ) == [("WIDGET-1", 4, 6), (other.sku, 0, 0)]
    assert stock_discrepancies() == []


def test_rebuild_counts_bulk_written_lines_and_creates_their_missing_level(warehouse):
    """What the demo and benchmark seeders do: rows written without the services, then one
    rebuild."""
    product, elsewhere = ProductFactory(sku="BULK-1"), WarehouseFactory(code="EAST")
    for ordered, allocated, cancelled in ((5, 0, 0), (6, 0, 2)):
        OrderLineFactory(
            order=SalesOrderFactory(warehouse=warehouse, priority=Priority.HIGH),
            product=product,
            quantity_ordered=ordered,
            quantity_allocated=allocated,
            quantity_cancelled=cancelled,
        )
    statuses = (
        (PurchaseOrderStatus.SENT, 8, 0),
        (PurchaseOrderStatus.PARTIALLY_RECEIVED, 10, 3),
        (PurchaseOrderStatus.PARTIALLY_RECEIVED, 4, 5),  # tolerated over-receipt: nothing due
        (PurchaseOrderStatus.DRAFT, 50, 0),
        (PurchaseOrderStatus.CANCELLED, 40, 1),
        (PurchaseOrderStatus.RECEIVED, 9, 9),
    )
    for status, ordered, received in statuses:
        PurchaseOrderLineFactory(
            purchase_order=PurchaseOrderFactory(warehouse=warehouse, status=status),
            product=product,
            quantity_ordered=ordered,
            quantity_received=received,
        )
    # Only a draft at the other warehouse: no level is needed there.
    PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(warehouse=elsewhere), product=product
    )
    assert not StockLevel.objects.exists()
    # Before the rebuild check_stock names the one pair that lacks its level, once, although
    # three lines wait for it or bring it.
    assert [(d.check, d.subject, d.found) for d in level_missing_violations()] == [
        ("level_missing", f"BULK-1 @ {warehouse.code}", "none")
    ]

    level_counters_rebuild()

    assert level_missing_violations() == []
    (level,) = StockLevel.objects.all()
    assert (level.product, level.warehouse) == (product, warehouse)
    assert (level.backordered, level.on_order) == recounted(product, warehouse) == (9, 15)
    assert level_backordered_mismatches() == []
    assert level_on_order_mismatches() == []


def test_counters_of_bulk_written_lines_are_reported_before_the_rebuild(
    product, warehouse, staff_user
):
    level = give_stock(product, warehouse, 2, by=staff_user)
    OrderLineFactory(
        order=SalesOrderFactory(warehouse=warehouse), product=product, quantity_ordered=3
    )
    PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(warehouse=warehouse, status=PurchaseOrderStatus.SENT),
        product=product,
        quantity_ordered=7,
    )

    assert [(d.check, d.found) for d in level_backordered_mismatches()] == [
        ("level_backordered", "backordered 0")
    ]
    assert [(d.check, d.found) for d in level_on_order_mismatches()] == [
        ("level_on_order", "on order 0")
    ]

    level_counters_rebuild()

    level.refresh_from_db()
    assert (level.backordered, level.on_order) == (3, 7)
    assert level_backordered_mismatches() == level_on_order_mismatches() == []


# --- the admin cannot change what the counters count ---------------------------------------------


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def change_form_data(response) -> dict:
    """The POST a browser sends back for an admin change page as it was loaded."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {"_save": "Save"}
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[form.add_prefix(name)] = value
    return data


def test_draft_edited_in_the_admin_counts_as_edited_once_sent(
    admin_client, product, warehouse, supplier, staff_user
):
    draft = draft_po(supplier, warehouse, [(product, 10)], by=staff_user)
    data = change_form_data(admin_client.get(admin_url(draft, "change", draft.pk)))
    data["lines-0-quantity_ordered"] = 25

    response = admin_client.post(admin_url(draft, "change", draft.pk), data)

    assert response.status_code == 302
    assert not StockLevel.objects.filter(product=product).exists()  # a draft counts nowhere
    purchase_order_send(purchase_order_id=draft.pk, by=staff_user)
    assert_counters(product, warehouse, backordered=0, on_order=25)


def test_admin_page_of_a_draft_sent_meanwhile_cannot_change_what_it_orders(
    admin_client, product, warehouse, supplier, staff_user
):
    draft = draft_po(supplier, warehouse, [(product, 10)], by=staff_user)
    page = admin_client.get(admin_url(draft, "change", draft.pk))
    data = change_form_data(page)
    new_date = draft.expected_date + dt.timedelta(days=2)
    data.update(
        {
            "warehouse": WarehouseFactory(code="EAST").pk,
            "expected_date": new_date.isoformat(),
            "lines-0-quantity_ordered": 25,
        }
    )
    purchase_order_send(purchase_order_id=draft.pk, by=staff_user)

    response = admin_client.post(admin_url(draft, "change", draft.pk), data)

    assert response.status_code == 302
    assert next(str(m) for m in get_messages(response.wsgi_request)) == (
        f"{draft.number} is no longer a draft, so its supplier, warehouse, products and ordered "
        "quantities are fixed: those changes were not saved. Cancel it and draft a new order to "
        "order differently."
    )
    draft.refresh_from_db()
    # The harmless change is kept; what the level counts is not touched.
    assert (draft.warehouse, draft.expected_date) == (warehouse, new_date)
    assert draft.lines.get().quantity_ordered == 10
    assert_counters(product, warehouse, backordered=0, on_order=10)


def test_line_admin_page_of_a_draft_sent_meanwhile_cannot_change_its_quantity(
    admin_client, product, warehouse, supplier, staff_user
):
    draft = draft_po(supplier, warehouse, [(product, 10)], by=staff_user)
    line = draft.lines.get()
    data = change_form_data(admin_client.get(admin_url(line, "change", line.pk)))
    data.update({"quantity_ordered": 3, "unit_cost": "2.50"})
    purchase_order_send(purchase_order_id=draft.pk, by=staff_user)

    response = admin_client.post(admin_url(line, "change", line.pk), data)

    assert response.status_code == 302
    assert any("is no longer a draft" in str(m) for m in get_messages(response.wsgi_request))
    line.refresh_from_db()
    assert (line.quantity_ordered, str(line.unit_cost)) == (10, "2.50")
    assert_counters(product, warehouse, backordered=0, on_order=10)


def test_admin_saves_of_sent_orders_without_such_edits_say_nothing(
    admin_client, product, warehouse, supplier, staff_user
):
    po = sent_po(supplier, warehouse, [(product, 10)], by=staff_user)
    data = change_form_data(admin_client.get(admin_url(po, "change", po.pk)))
    data["notes"] = "Call before delivery."

    response = admin_client.post(admin_url(po, "change", po.pk), data)

    assert response.status_code == 302
    assert not any("no longer a draft" in str(m) for m in get_messages(response.wsgi_request))
    po.refresh_from_db()
    assert po.notes == "Call before delivery."
    assert_counters(product, warehouse, backordered=0, on_order=10)


def test_sales_order_admin_ignores_forged_line_quantities(
    admin_client, stocked, warehouse, customer, staff_user
):
    order = place(customer, warehouse, [(stocked, 14)], by=staff_user)
    data = change_form_data(admin_client.get(admin_url(order, "change", order.pk)))
    data.update(
        {
            "priority": Priority.HIGH,
            "status": "cancelled",
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 1,
            "lines-0-id": line_of(order, stocked).pk,
            "lines-0-quantity_ordered": 2,
            "lines-0-quantity_cancelled": 4,
        }
    )

    response = admin_client.post(admin_url(order, "change", order.pk), data)

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.priority == Priority.HIGH
    assert order.status == "backordered"
    line = line_of(order, stocked)
    assert (line.quantity_ordered, line.quantity_cancelled) == (14, 0)
    assert_counters(stocked, warehouse, backordered=4, on_order=0)
    assert SalesOrder.objects.count() == 1
