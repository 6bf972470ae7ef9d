"""The reorder dashboard clicked through in Chromium as a manager would: read why a quantity is
suggested, tick suggestions, create draft purchase orders, land on the draft, and find that doing it
again adds nothing; then apply a suggested safety stock from its row."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import SafetyStockChange, StockLevel
from orders.models import OrderLine
from planning.selectors import reorder_suggestions
from suppliers.models import PurchaseOrder, PurchaseOrderStatus
from tests.browser.conftest import nav
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, place

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def short_stock(staff_user):
    """Two products bought from Northwind run short at MAIN; orders over the last days give them
    a demand history, and customers wait for WIDGET-1."""
    main = WarehouseFactory(code="MAIN", name="Main warehouse")
    northwind = SupplierFactory(name="Northwind Supply")
    widget = ProductFactory(sku="WIDGET-1", name="Blue widget")
    bolt = ProductFactory(sku="BOLT-2", name="Hex bolt")
    for product, pack in ((widget, 12), (bolt, 50)):
        SupplierProductFactory(
            supplier=northwind,
            product=product,
            unit_cost=Decimal("1.20"),
            lead_time_days=10,
            pack_size=pack,
            min_order_qty=pack,
            is_preferred=True,
        )
    customer = CustomerFactory(name="Acme Hardware")
    give_stock(widget, main, 6, by=staff_user)
    give_stock(bolt, main, 40, by=staff_user)
    for days_ago, (widget_qty, bolt_qty) in enumerate([(5, 20), (3, 10), (6, 25), (4, 5)], 1):
        placed_at = timezone.now() - dt.timedelta(days=days_ago)
        place(
            customer,
            main,
            [(widget, widget_qty), (bolt, bolt_qty)],
            by=staff_user,
            placed_at=placed_at,
        )
    return {"main": main, "northwind": northwind, "widget": widget, "bolt": bolt}


def test_manager_creates_draft_purchase_orders_from_suggestions(
    page, log_in, manager_user, short_stock
):
    suggestions = {row.sku: row for row in reorder_suggestions()}
    widget, bolt = suggestions["WIDGET-1"], suggestions["BOLT-2"]
    assert widget.suggested_qty > 0
    assert bolt.suggested_qty > 0

    log_in(page, manager_user)
    nav(page, "Reorder").click()
    expect(page.get_by_role("heading", name="Reorder", exact=True)).to_be_visible()
    expect(page.get_by_test_id("supplier-group")).to_contain_text("Northwind Supply")
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0).count()
    assert waiting > 0
    expect(page.get_by_test_id("kpi-backorder-lines-value")).to_have_text(str(waiting))

    # The working behind the numbers opens under the row.
    explain = page.get_by_test_id(f"explain-{widget.level_id}")
    expect(explain).to_be_hidden()
    page.get_by_role("button", name="How the numbers of WIDGET-1 at MAIN were worked out").click()
    expect(explain).to_be_visible()
    expect(explain).to_contain_text("SS = z × σd × √L")
    expect(explain).to_contain_text("promised by Northwind Supply")
    expect(explain).to_contain_text(f"{widget.suggested_qty:,}")

    page.get_by_role("checkbox", name="Select WIDGET-1 at MAIN").check()
    page.get_by_role("checkbox", name="Select BOLT-2 at MAIN").check()
    expect(page.locator("[data-ticked-count]")).to_have_text("2 rows ticked")
    page.get_by_role("button", name="Create draft purchase orders").click()

    po = PurchaseOrder.objects.get()
    expect(page).to_have_url(re.compile(rf"/purchase-orders/{po.pk}/$"))
    expect(page.get_by_role("heading", name=po.number)).to_be_visible()
    expect(
        page.get_by_role("alert").filter(has_text="Created 1 draft purchase order")
    ).to_contain_text(f"{po.number} (Northwind Supply, MAIN, 2 lines)")
    expect(page.get_by_test_id("po-status")).to_have_text("Draft")
    lines = page.get_by_test_id("po-lines")
    expect(lines.get_by_role("row").filter(has_text="WIDGET-1")).to_contain_text(
        str(widget.suggested_qty)
    )
    expect(lines.get_by_role("row").filter(has_text="BOLT-2")).to_contain_text(
        str(bolt.suggested_qty)
    )
    assert po.status == PurchaseOrderStatus.DRAFT

    # Back on the dashboard, the same suggestion again creates nothing.
    page.go_back()
    page.reload()
    page.get_by_role("checkbox", name="Select all suggestions on this page").check()
    expect(page.get_by_role("checkbox", name="Select WIDGET-1 at MAIN")).to_be_checked()
    page.get_by_role("button", name="Create draft purchase orders").click()
    expect(page).to_have_url(re.compile(r"/reorder/$"))
    expect(page.get_by_role("alert").first).to_be_visible()
    assert PurchaseOrder.objects.count() == 1


def test_manager_applies_a_suggested_safety_stock_from_its_row(
    page, log_in, manager_user, short_stock
):
    widget = next(row for row in reorder_suggestions() if row.sku == "WIDGET-1")
    assert widget.suggested_safety_stock > 0

    log_in(page, manager_user)
    page.goto("/reorder/")
    page.get_by_role(
        "button",
        name=f"Apply suggested safety stock {widget.suggested_safety_stock} to WIDGET-1 at MAIN",
    ).click()
    expect(
        page.get_by_role("alert").filter(has_text="Safety stock set to the suggestion")
    ).to_contain_text(f"WIDGET-1 at MAIN 0 → {widget.suggested_safety_stock}")
    assert StockLevel.objects.get(pk=widget.level_id).safety_stock == widget.suggested_safety_stock
    change = SafetyStockChange.objects.get()
    assert change.changed_by == manager_user
    # Applied: the row no longer offers the button.
    expect(
        page.get_by_role("button", name=re.compile("Apply suggested safety stock .* to WIDGET-1"))
    ).to_have_count(0)
