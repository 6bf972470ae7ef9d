"""The purchasing admin: every page loads, shipments are view-only, status and received
quantities cannot be edited, purchase order numbers are searchable, no N+1."""

import datetime as dt
import uuid

import pytest
from django.contrib import admin
from django.utils import timezone

from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)
from suppliers.services import purchase_order_create, purchase_order_send, shipment_receive
from tests.factories import (
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import admin_url, count_queries, post_data_from

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def purchase_order(*, by, warehouse, quantity=10, send=True, receive=0):
    """A purchase order for a fresh product, sent and partly received through the services."""
    term = SupplierProductFactory(product=ProductFactory())
    po = purchase_order_create(
        supplier_id=term.supplier_id,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=5),
        lines=[(term.product_id, quantity)],
        by=by,
    )
    if send:
        purchase_order_send(purchase_order_id=po.pk, by=by)
    if receive:
        shipment_receive(
            purchase_order_id=po.pk,
            quantities={po.lines.get().pk: receive},
            idempotency_key=uuid.uuid4().hex,
            by=by,
            reference="DN-1",
        )
    po.refresh_from_db()
    return po


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="PUR")


@pytest.fixture
def rows(admin_user, warehouse):
    """A draft, a sent and a partly received purchase order (so one shipment)."""
    return [
        purchase_order(by=admin_user, warehouse=warehouse, send=False),
        purchase_order(by=admin_user, warehouse=warehouse),
        purchase_order(by=admin_user, warehouse=warehouse, receive=4),
    ]


# --- pages load ----------------------------------------------------------------------------------

MODELS = [Supplier, SupplierProduct, PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine]


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


@pytest.mark.parametrize("model", [Supplier, SupplierProduct, PurchaseOrder])
def test_add_page_loads(admin_client, model):
    assert admin_client.get(admin_url(model, "add")).status_code == 200


# --- shipments are written by receiving only -----------------------------------------------------


@pytest.mark.parametrize("model", [Shipment, ShipmentLine])
def test_shipments_cannot_be_added_changed_or_deleted(admin_client, rf, admin_user, rows, model):
    obj = model.objects.first()
    before = model.objects.values().get(pk=obj.pk)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert (
        admin_client.post(
            admin_url(model, "change", obj.pk), {"quantity": 99, "reference": "rewritten"}
        ).status_code
        == 403
    )
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.values().get(pk=obj.pk) == before


@pytest.mark.parametrize("model", [PurchaseOrder, PurchaseOrderLine])
def test_purchase_orders_and_lines_cannot_be_deleted(admin_client, rows, model):
    obj = model.objects.first()

    response = admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"})

    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


# --- service-owned columns -----------------------------------------------------------------------


def test_status_and_received_quantity_are_not_editable(admin_client, rows):
    po = rows[2]
    line = po.lines.get()
    page = admin_client.get(admin_url(PurchaseOrder, "change", po.pk))
    data = post_data_from(page)
    new_date = po.expected_date + dt.timedelta(days=3)
    data.update(
        {
            "status": PurchaseOrderStatus.RECEIVED,
            "expected_date": new_date.isoformat(),
            "lines-0-quantity_received": 10,
            "lines-0-quantity_ordered": 50,
            "lines-0-unit_cost": "3.25",
        }
    )

    response = admin_client.post(admin_url(PurchaseOrder, "change", po.pk), data)

    assert response.status_code == 302
    po.refresh_from_db()
    line.refresh_from_db()
    assert (po.status, po.expected_date) == (PurchaseOrderStatus.PARTIALLY_RECEIVED, new_date)
    # A sent order's quantities are fixed; its price can still be corrected.
    assert (line.quantity_ordered, line.quantity_received, str(line.unit_cost)) == (10, 4, "3.25")


def test_draft_lines_can_be_respecified(admin_client, rows):
    draft = rows[0]
    page = admin_client.get(admin_url(PurchaseOrder, "change", draft.pk))
    data = post_data_from(page)
    data["lines-0-quantity_ordered"] = 25

    response = admin_client.post(admin_url(PurchaseOrder, "change", draft.pk), data)

    assert response.status_code == 302
    assert draft.lines.get().quantity_ordered == 25


@pytest.mark.parametrize("quantity", ["0", "-3", "1000000001", "2.5"])
def test_bad_line_quantity_is_refused_on_the_form(admin_client, rows, quantity):
    draft = rows[0]
    page = admin_client.get(admin_url(PurchaseOrder, "change", draft.pk))
    data = post_data_from(page)
    data["lines-0-quantity_ordered"] = quantity

    response = admin_client.post(admin_url(PurchaseOrder, "change", draft.pk), data)

    assert response.status_code == 200
    assert "Please correct the error" in response.text
    assert draft.lines.get().quantity_ordered == 10


def test_purchase_order_added_in_the_admin_is_a_draft_by_its_author(admin_client, admin_user):
    supplier, warehouse, product = SupplierFactory(), WarehouseFactory(), ProductFactory()
    page = admin_client.get(admin_url(PurchaseOrder, "add"))
    data = post_data_from(page)
    data.update(
        {
            "supplier": supplier.pk,
            "warehouse": warehouse.pk,
            "expected_date": "2030-05-01",
            "status": PurchaseOrderStatus.RECEIVED,
            "lines-0-product": product.pk,
            "lines-0-quantity_ordered": 6,
            "lines-0-quantity_received": 6,
            "lines-0-unit_cost": "2.00",
        }
    )

    response = admin_client.post(admin_url(PurchaseOrder, "add"), data)

    assert response.status_code == 302
    po = PurchaseOrder.objects.get(supplier=supplier)
    assert (po.status, po.created_by) == (PurchaseOrderStatus.DRAFT, admin_user)
    assert list(po.lines.values_list("quantity_ordered", "quantity_received")) == [(6, 0)]


def test_sent_order_takes_no_new_lines(admin_client, rows):
    response = admin_client.get(admin_url(PurchaseOrder, "change", rows[1].pk))

    lines_inline = response.context["inline_admin_formsets"][0]
    assert not lines_inline.has_add_permission


def test_supplier_page_edits_terms(admin_client):
    term = SupplierProductFactory(lead_time_days=7)
    page = admin_client.get(admin_url(Supplier, "change", term.supplier.pk))
    data = post_data_from(page)
    data["terms-0-lead_time_days"] = 21

    response = admin_client.post(admin_url(Supplier, "change", term.supplier.pk), data)

    assert response.status_code == 302
    term.refresh_from_db()
    assert term.lead_time_days == 21


def test_supplier_page_reports_a_preferred_term_without_product(admin_client):
    term = SupplierProductFactory()
    page = admin_client.get(admin_url(Supplier, "change", term.supplier.pk))
    data = post_data_from(page)
    data.update(
        {
            "terms-TOTAL_FORMS": 2,
            "terms-1-supplier": term.supplier.pk,
            "terms-1-unit_cost": "1.00",
            "terms-1-lead_time_days": 7,
            "terms-1-min_order_qty": 1,
            "terms-1-pack_size": 1,
            "terms-1-is_preferred": "on",
        }
    )

    response = admin_client.post(admin_url(Supplier, "change", term.supplier.pk), data)

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"][0].formset.errors[1]["product"]
    assert SupplierProduct.objects.count() == 1


# --- search by document number -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["{number}", "PO-{pk}", "po{pk}"])
def test_purchase_order_search_finds_document_number(admin_client, rows, typed):
    po = rows[1]

    response = admin_client.get(
        admin_url(PurchaseOrder, "changelist"), {"q": typed.format(number=po.number, pk=po.pk)}
    )

    assert list(response.context["cl"].result_list) == [po]


def test_purchase_order_search_still_searches_suppliers(admin_client, rows):
    po = rows[0]

    response = admin_client.get(admin_url(PurchaseOrder, "changelist"), {"q": po.supplier.name})

    assert list(response.context["cl"].result_list) == [po]


def test_shipment_search_finds_shipment_and_purchase_order_numbers(admin_client, rows):
    shipment = Shipment.objects.get()

    by_own = admin_client.get(admin_url(Shipment, "changelist"), {"q": shipment.number})
    by_po = admin_client.get(admin_url(Shipment, "changelist"), {"q": rows[2].number})
    by_other_po = admin_client.get(admin_url(Shipment, "changelist"), {"q": rows[1].number})
    lines = admin_client.get(admin_url(PurchaseOrderLine, "changelist"), {"q": rows[2].number})

    assert list(by_own.context["cl"].result_list) == [shipment]
    assert list(by_po.context["cl"].result_list) == [shipment]
    assert by_other_po.context["cl"].result_count == 0
    assert list(lines.context["cl"].result_list) == list(rows[2].lines.all())


# --- no N+1 on changelists -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [Supplier, SupplierProduct, PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine],
)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, admin_user, warehouse, model, django_assert_num_queries
):
    def add_rows(n):
        for _ in range(n):
            purchase_order(by=admin_user, warehouse=warehouse, receive=2)

    url = admin_url(model, "changelist")
    add_rows(3)
    admin_client.get(url)  # warm caches that belong to the session, not to the page
    with_three, page = count_queries(lambda: admin_client.get(url))
    assert page.status_code == 200
    add_rows(17)

    # Session, user, the two counts, the page of rows with its joins, the filters' choices and
    # the date hierarchy: the same statements for 20 purchase orders as for 3.
    with django_assert_num_queries(with_three):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 20
