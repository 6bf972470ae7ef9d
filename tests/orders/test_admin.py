"""The orders admin: every page loads, allocations and releases are view-only, quantities and
statuses the services own cannot be edited, document numbers are searchable, no N+1."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from pytest_django.asserts import assertContains

from inventory.models import StockLevel
from inventory.services import stock_adjust
from orders.models import (
    Allocation,
    AllocationKind,
    Customer,
    OrderLine,
    Priority,
    Release,
    SalesOrder,
    SalesOrderStatus,
)
from orders.services import (
    ReleaseDecision,
    order_place,
    order_ship,
    release_confirm,
    release_propose,
)
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, WarehouseFactory
from tests.helpers import admin_url, count_queries, post_data_from

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def place_order(*, by, warehouse, stock=0, quantity=3, priority=Priority.NORMAL):
    """An order for a fresh product, allocated from `stock` units put in through the ledger."""
    product = ProductFactory()
    if stock:
        level = StockLevelFactory(product=product, warehouse=warehouse)
        stock_adjust(level_id=level.pk, delta=stock, reason="Opening stock", by=by)
    return order_place(
        customer_id=CustomerFactory().pk,
        warehouse_id=warehouse.pk,
        lines=[(product.pk, quantity)],
        by=by,
        priority=priority,
    )


def release_waiting(order, *, by, units):
    """Stock arrives for a backordered order and staff release it as proposed."""
    line = order.lines.get()
    level = StockLevel.objects.get(product=line.product, warehouse=order.warehouse)
    stock_adjust(level_id=level.pk, delta=units, reason="Found stock", by=by)
    plan = release_propose(warehouse_id=order.warehouse_id, product_ids=[line.product_id])
    decisions = [
        ReleaseDecision(line_id=p.line_id, quantity=p.quantity)
        for product in plan.products
        for p in product.lines
    ]
    return release_confirm(
        warehouse_id=order.warehouse_id,
        product_ids=[line.product_id],
        fingerprint=plan.fingerprint,
        decisions=decisions,
        by=by,
    ).release


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="ORD")


@pytest.fixture
def rows(admin_user, warehouse):
    """Orders allocated when placed, one waiting for stock, and one release."""
    allocated = [place_order(by=admin_user, warehouse=warehouse, stock=5) for _ in range(2)]
    waiting = place_order(by=admin_user, warehouse=warehouse, stock=1, quantity=4)
    release = release_waiting(waiting, by=admin_user, units=3)
    return {"orders": [*allocated, waiting], "release": release}


# --- pages load ----------------------------------------------------------------------------------

MODELS = [Customer, SalesOrder, OrderLine, Allocation, Release]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_lists_rows(admin_client, rows, model):
    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() > 0


@pytest.mark.parametrize("model", MODELS)
def test_change_page_loads(admin_client, rows, model):
    obj = model.objects.first()

    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    assert response.context["original"] == obj


def test_customer_add_page_loads(admin_client):
    assert admin_client.get(admin_url(Customer, "add")).status_code == 200


def test_orders_are_not_added_in_the_admin(admin_client, rows):
    # Placing an order allocates stock and queues the rest; only order_place does that.
    assert admin_client.get(admin_url(SalesOrder, "add")).status_code == 403
    assert admin_client.get(admin_url(OrderLine, "add")).status_code == 403


def test_order_page_shows_lines_with_their_allocations(admin_client, rows):
    order = rows["orders"][-1]
    line = order.lines.get()

    response = admin_client.get(admin_url(SalesOrder, "change", order.pk))

    (inline,) = response.context["inline_admin_formsets"]
    assert [form.original for form in inline] == [line]
    # Read-only: the quantities are shown, never rendered as inputs.
    assert 'name="lines-0-quantity_allocated"' not in response.text
    assert 'name="lines-0-quantity_ordered"' not in response.text
    assertContains(
        response,
        f'<td class="field-quantity_allocated"><p>{line.quantity_allocated}</p></td>',
        html=True,
    )


def test_release_page_lists_its_allocations(admin_client, rows):
    release = rows["release"]

    response = admin_client.get(admin_url(Release, "change", release.pk))

    (inline,) = response.context["inline_admin_formsets"]
    assert [form.original for form in inline] == list(release.allocations.all())
    assert len(list(inline)) == 1


# --- read-only history and service-owned columns -------------------------------------------------


@pytest.mark.parametrize("model", [Allocation, Release, OrderLine])
def test_history_rows_cannot_be_added_changed_or_deleted(admin_client, rf, admin_user, rows, model):
    obj = model.objects.first()
    before = model.objects.values().get(pk=obj.pk)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.post(admin_url(model, "add"), {"quantity": 1}).status_code == 403
    assert (
        admin_client.post(
            admin_url(model, "change", obj.pk),
            {"quantity": 99, "quantity_allocated": 0, "note": "rewritten", "reason": "rewritten"},
        ).status_code
        == 403
    )
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.values().get(pk=obj.pk) == before


def test_orders_cannot_be_deleted(admin_client, rows):
    order = rows["orders"][0]

    response = admin_client.post(admin_url(SalesOrder, "delete", order.pk), {"post": "yes"})

    assert response.status_code == 403
    assert SalesOrder.objects.filter(pk=order.pk).exists()
    assert "delete_selected" not in admin_client.get(admin_url(SalesOrder, "changelist")).text


def test_order_status_and_line_quantities_are_not_editable(admin_client, rows):
    order = rows["orders"][0]
    line = order.lines.get()
    page = admin_client.get(admin_url(SalesOrder, "change", order.pk))
    data = post_data_from(page)
    data.update(
        {
            "status": SalesOrderStatus.SHIPPED,
            "placed_at_0": "2020-01-01",
            "placed_at_1": "00:00:00",
            "lines-0-id": line.pk,
            "lines-0-quantity_allocated": 0,
            "lines-0-quantity_shipped": 3,
            "priority": Priority.URGENT,
            "customer_reference": "PO 7781",
        }
    )

    response = admin_client.post(admin_url(SalesOrder, "change", order.pk), data)

    assert response.status_code == 302
    fresh = SalesOrder.objects.get(pk=order.pk)
    assert (fresh.status, fresh.placed_at) == (order.status, order.placed_at)
    assert (fresh.priority, fresh.customer_reference) == (Priority.URGENT, "PO 7781")
    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_shipped) == (3, 0)


def test_saving_an_order_writes_only_the_edited_columns(rf, admin_user, rows):
    order = rows["orders"][0]
    loaded = SalesOrder.objects.get(pk=order.pk)  # as the change page read it
    order_ship(order_id=order.pk, by=admin_user)  # meanwhile the order ships
    loaded.priority = Priority.HIGH
    request = rf.post("/")
    request.user = admin_user
    form = SimpleNamespace(changed_data=["priority"])

    admin.site._registry[SalesOrder].save_model(request, loaded, form, change=True)

    fresh = SalesOrder.objects.get(pk=order.pk)
    assert (fresh.status, fresh.priority) == (SalesOrderStatus.SHIPPED, Priority.HIGH)


# --- search by document number -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["{number}", "so-{pk}", "SO{pk}", " SO-{pk} "])
def test_order_search_finds_document_number(admin_client, rows, typed):
    order = rows["orders"][1]

    response = admin_client.get(
        admin_url(SalesOrder, "changelist"), {"q": typed.format(number=order.number, pk=order.pk)}
    )

    assert list(response.context["cl"].result_list) == [order]


def test_order_search_still_searches_customers(admin_client, rows):
    order = rows["orders"][0]

    response = admin_client.get(admin_url(SalesOrder, "changelist"), {"q": order.customer.name})

    assert list(response.context["cl"].result_list) == [order]


def test_order_search_for_a_number_that_does_not_exist_finds_nothing(admin_client, rows):
    response = admin_client.get(admin_url(SalesOrder, "changelist"), {"q": "SO-999999"})

    assert response.context["cl"].result_count == 0


def test_line_and_allocation_search_find_their_order_number(admin_client, rows):
    order = rows["orders"][2]

    lines = admin_client.get(admin_url(OrderLine, "changelist"), {"q": order.number})
    allocations = admin_client.get(admin_url(Allocation, "changelist"), {"q": order.number})

    assert list(lines.context["cl"].result_list) == list(order.lines.all())
    assert {a.line.order_id for a in allocations.context["cl"].result_list} == {order.pk}
    assert allocations.context["cl"].result_count == 2  # placement and release


def test_release_search_finds_release_number(admin_client, rows):
    release = rows["release"]

    response = admin_client.get(admin_url(Release, "changelist"), {"q": release.number})
    by_allocation = admin_client.get(admin_url(Allocation, "changelist"), {"q": release.number})

    assert list(response.context["cl"].result_list) == [release]
    assert [a.kind for a in by_allocation.context["cl"].result_list] == [AllocationKind.RELEASE]


# --- no N+1 on changelists -----------------------------------------------------------------------


@pytest.mark.parametrize("model", [SalesOrder, OrderLine, Allocation, Release])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, admin_user, warehouse, model, django_assert_num_queries
):
    def add_rows(n):
        for _ in range(n):
            order = place_order(by=admin_user, warehouse=warehouse, stock=1, quantity=2)
            release_waiting(order, by=admin_user, units=1)

    url = admin_url(model, "changelist")
    add_rows(3)
    admin_client.get(url)  # warm caches that belong to the session, not to the page
    with_three, page = count_queries(lambda: admin_client.get(url))
    assert page.status_code == 200
    add_rows(17)

    # Session, user, the two counts, the page of rows with its joins, the filters' choices and
    # the date hierarchy: the same statements for 20 orders as for 3.
    with django_assert_num_queries(with_three):
        response = admin_client.get(url)
    assert response.context["cl"].result_count >= 20
