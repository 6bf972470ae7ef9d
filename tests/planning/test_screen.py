"""The dashboard's SQL screen agrees with the Python calculation, and the page marks what it
shows: rows already on an order, the EOQ's inputs, suppliers found by name."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from planning.selectors import screen_page, screen_rows, suggestions_for
from suppliers.models import PurchaseOrderStatus, Shipment
from tests.factories import (
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock
from tests.planning.helpers import DASHBOARD, preferred, sold

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def short_window(settings):
    settings.BACKSTOCK_DEMAND_WINDOW_DAYS = 10
    settings.BACKSTOCK_SERVICE_LEVEL = 0.95


def _varied_catalogue(staff_user):
    """Levels of every kind: spread in demand, manual reorder points, own service levels,
    suppliers with measured lead times that vary, no supplier, stock above the reorder point."""
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    suppliers = [SupplierFactory(name=f"Supplier {n}") for n in range(3)]
    for n, days in enumerate((3, 9, 4)):
        po = PurchaseOrderFactory(
            supplier=suppliers[n % 2],
            status=PurchaseOrderStatus.RECEIVED,
            sent_at=timezone.now() - dt.timedelta(days=40),
        )
        shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
        Shipment.objects.filter(pk=shipment.pk).update(
            received_at=timezone.now() - dt.timedelta(days=40 - days)
        )
    for i in range(24):
        product = ProductFactory(service_level=Decimal("0.99") if i % 5 == 0 else None)
        if i % 6:
            preferred(
                product, supplier=suppliers[i % 3], lead_time_days=2 + i % 7, pack_size=1 + i % 4
            )
        warehouse = (north, south)[i % 2]
        level = sold(product, warehouse, {1: 2 + i % 5, 3: 1 + i % 3, 6: 4}, shipped=i % 3 != 0)
        if i % 4 == 0:
            give_stock(product, warehouse, 5 + i, by=staff_user)
        if i % 7 == 0:
            level.reorder_point = 3 * i
            level.save(update_fields=["reorder_point"])
    return north, suppliers


def test_the_screen_finds_exactly_the_rows_the_formulas_suggest(staff_user):
    north, suppliers = _varied_catalogue(staff_user)
    cases = [
        {},
        {"warehouse_id": north.pk},
        {"supplier_id": suppliers[1].pk},
        {"urgent_only": True},
    ]
    for filters in cases:
        expected = suggestions_for(**filters)
        assert [inputs.level_id for inputs in screen_rows(**filters)] == [
            row.level_id for row in expected
        ], filters
        page = screen_page(**filters, limit=len(expected) + 1)
        assert page.level_ids == [row.level_id for row in expected], filters
        assert page.total == len(expected)
        assert page.urgent == sum(1 for row in expected if row.urgent)
    assert screen_page().total > 5  # the catalogue suggests something worth checking


def test_a_page_of_the_screen_is_a_slice_with_the_groups_of_the_whole_list(staff_user):
    _varied_catalogue(staff_user)
    everything = screen_page(limit=1000)
    page = screen_page(offset=3, limit=4)
    assert page.level_ids == everything.level_ids[3:7]
    assert page.total == everything.total
    for supplier_id, group in page.groups.items():
        assert group == everything.groups[supplier_id]
    first = page.rows[0].term.supplier_id if page.rows[0].term else None
    rows = [row for row in suggestions_for() if row.supplier_id == first]
    group = page.groups[first]
    assert group.rows == len(rows)
    assert group.value == sum((row.line_value or Decimal(0) for row in rows), Decimal(0))


def test_a_row_already_on_a_draft_of_its_supplier_is_marked(client, shop, manager_user):
    draft = PurchaseOrderFactory(
        supplier=shop["northwind"], warehouse=shop["main"], status=PurchaseOrderStatus.DRAFT
    )
    PurchaseOrderLineFactory(purchase_order=draft, product=shop["widget"], quantity_ordered=5)
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    row = re.search(
        rf'<tr[^>]*data-level="{shop["widget_main"].pk}"[^>]*>(.*?)</tr>', html, re.S
    ).group(1)
    assert f"on {draft.number} (draft)" in row
    other = re.search(
        rf'<tr[^>]*data-level="{shop["widget_east"].pk}"[^>]*>(.*?)</tr>', html, re.S
    ).group(1)
    assert 'data-testid="covered"' not in other


def test_the_eoq_cell_shows_d_s_and_h(client, shop, manager_user, settings):
    settings.BACKSTOCK_HOLDING_COST_RATE = 0.25
    shop["northwind"].ordering_cost = Decimal("40.00")
    shop["northwind"].save(update_fields=["ordering_cost"])
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    row = re.search(
        rf'<tr[^>]*data-level="{shop["widget_main"].pk}"[^>]*>(.*?)</tr>', html, re.S
    ).group(1)
    assert re.search(r"D [\d,]+ · S 40\.00 · H 0\.6[23]", row)
    explain = re.search(rf'id="explain-{shop["widget_main"].pk}">(.*?)</table>', html, re.S).group(
        1
    )
    assert "S = 40.00 per order" in explain


@pytest.mark.parametrize("typed", ["Northwind Supply", "northwind", "NORTHWIND SUPPLY"])
def test_the_supplier_filter_takes_a_name(client, shop, manager_user, typed):
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD), {"supplier": typed}).content.decode()
    assert f'data-level="{shop["widget_main"].pk}"' in html
    assert f'data-level="{shop["gadget_main"].pk}"' not in html
    assert 'value="Northwind Supply"' in html
    assert "<option" not in html.split('name="supplier"')[1].split("</div>")[0]


def test_a_supplier_name_matching_several_is_a_form_error(client, shop, manager_user):
    SupplierFactory(name="Northwind Traders")
    client.force_login(manager_user)
    response = client.get(reverse(DASHBOARD), {"supplier": "northwind"})
    assert response.status_code == 200
    assert "Choose one of the listed suppliers" in response.content.decode()
