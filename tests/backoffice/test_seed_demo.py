"""`manage.py seed_demo`: a demo with something true on every page, clean for `check_stock`,
written once, the same every time, and — at scale — what the services would have written."""

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q
from django.utils import timezone

from backoffice.demo.base import team_ensure, warehouses_create
from backoffice.demo.bulk import BlockSimulation
from backoffice.demo.events import Clock
from backoffice.demo.plan import plan_block
from backoffice.demo.replay import ServiceReplay
from backoffice.demo.rows import INSERT_ORDER, Rows
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement, Warehouse
from orders.models import (
    Allocation,
    Customer,
    OrderLine,
    Release,
    SalesOrder,
    SalesOrderStatus,
)
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)

COUNTED = (
    Warehouse,
    Product,
    StockLevel,
    StockMovement,
    SafetyStockChange,
    Supplier,
    SupplierProduct,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
    Customer,
    SalesOrder,
    OrderLine,
    Allocation,
    Release,
)


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def check_stock() -> str:
    out = StringIO()
    call_command("check_stock", stdout=out)  # raises CommandError on any discrepancy
    return out.getvalue()


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def wipe() -> None:
    """Delete the demo, children first (the foreign keys protect parents)."""
    for model in (*reversed(INSERT_ORDER), Warehouse):
        model.objects.all().delete()


def test_seed_demo_gives_every_page_something_true_to_show(db):
    output = seed()

    assert "100%" in output  # progress is shown
    assert "Demo data ready" in output
    assert "Stock is clean" in check_stock()

    today = timezone.localdate()
    assert sorted(Warehouse.objects.values_list("code", flat=True)) == ["BRS", "LON", "MAN"]
    assert 180 <= Product.objects.count() <= 220
    assert StockLevel.objects.count() == 3 * Product.objects.count()
    assert Supplier.objects.count() == 10
    assert Customer.objects.count() == 40

    # Every product has exactly one preferred supplier; terms look like a buyer's.
    preferred = SupplierProduct.objects.filter(is_preferred=True)
    assert preferred.count() == Product.objects.count()
    assert preferred.values("product").distinct().count() == Product.objects.count()
    assert not SupplierProduct.objects.exclude(lead_time_days__range=(3, 30)).exists()
    assert SupplierProduct.objects.filter(min_order_qty__gt=1).exists()
    assert SupplierProduct.objects.filter(pack_size__gt=1).exists()
    assert all(
        Supplier.objects.filter(pk=pk, terms__isnull=False).exists()
        for pk in Supplier.objects.values_list("pk", flat=True)
    )

    # Purchase orders in every state, one due today and one overdue.
    statuses = set(PurchaseOrder.objects.values_list("status", flat=True))
    assert statuses == set(PurchaseOrderStatus.values)
    open_pos = PurchaseOrder.objects.filter(
        status__in=[PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED]
    )
    assert open_pos.filter(expected_date=today).exists()
    assert open_pos.filter(expected_date__lt=today).exists()
    assert open_pos.filter(expected_date__gt=today).exists()

    # Orders over the last four months, with every status and several priorities.
    orders = SalesOrder.objects.all()
    assert orders.count() >= 250
    assert not orders.filter(placed_at__gt=timezone.now()).exists()
    assert orders.filter(placed_at__lt=timezone.now() - dt.timedelta(days=100)).exists()
    assert set(orders.values_list("status", flat=True)) == set(SalesOrderStatus.values)
    assert orders.values("priority").distinct().count() >= 3
    assert not StockMovement.objects.filter(created_at__gt=timezone.now()).exists()

    # A live backorder queue: several products waiting, some in long queues, some releasable.
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    assert waiting.values("product").distinct().count() >= 5
    queues = waiting.values("product", "order__warehouse").annotate(lines=Count("pk"))
    assert sum(1 for queue in queues if queue["lines"] >= 2) >= 3
    releasable = [
        level
        for level in StockLevel.objects.filter(on_hand__gt=F("allocated"))
        if waiting.filter(product=level.product_id, order__warehouse=level.warehouse_id).exists()
    ]
    assert releasable

    # Safety stock on many levels, some of them below it.
    assert StockLevel.objects.filter(safety_stock__gt=0).count() >= 100
    below = StockLevel.objects.filter(safety_stock__gt=0).filter(
        Q(on_hand__lt=F("allocated") + F("safety_stock"))
    )
    assert below.exists()


def test_seed_demo_twice_leaves_the_data_unchanged(db):
    seed()
    before = counts()

    output = seed()

    assert "already present" in output
    assert counts() == before


def snapshot() -> dict:
    """The demo's content without primary keys (document numbers in text are masked)."""

    def masked(text: str) -> str:
        return re.sub(r"\d+", "#", text)

    levels = {
        (level.product.sku, level.warehouse.code): (
            level.on_hand,
            level.allocated,
            level.safety_stock,
        )
        for level in StockLevel.objects.select_related("product", "warehouse")
    }
    movements = sorted(
        (
            m.level.product.sku,
            m.level.warehouse.code,
            m.created_at,
            m.kind,
            m.quantity,
            m.balance_after,
            m.reason,
            masked(m.reference),
            m.created_by.username,
        )
        for m in StockMovement.objects.select_related(
            "level__product", "level__warehouse", "created_by"
        )
    )
    lines = sorted(
        (
            line.order.customer.name,
            line.order.placed_at,
            line.order.status,
            line.order.priority,
            line.order.customer_reference,
            line.order.cancelled_at,
            line.order.cancel_reason,
            line.product.sku,
            line.quantity_ordered,
            line.quantity_allocated,
            line.quantity_shipped,
            line.quantity_cancelled,
            line.quantity_backordered,
        )
        for line in OrderLine.objects.select_related("order__customer", "product")
    )
    allocations = sorted(
        (
            a.line.order.placed_at,
            a.line.product.sku,
            a.created_at,
            a.kind,
            a.quantity,
            masked(a.reason),
            a.release_id is not None,
            a.shipment.idempotency_key if a.shipment else "",
        )
        for a in Allocation.objects.select_related("line__order", "line__product", "shipment")
    )
    purchase_lines = sorted(
        (
            line.purchase_order.supplier.name,
            line.purchase_order.warehouse.code,
            line.purchase_order.created_at,
            line.purchase_order.status,
            line.purchase_order.expected_date,
            line.purchase_order.sent_at,
            line.purchase_order.closed_at,
            line.purchase_order.cancel_reason,
            line.product.sku,
            line.quantity_ordered,
            line.quantity_received,
            line.unit_cost,
        )
        for line in PurchaseOrderLine.objects.select_related(
            "purchase_order__supplier", "purchase_order__warehouse", "product"
        )
    )
    shipments = sorted(
        (line.shipment.idempotency_key, line.shipment.received_at, line.quantity)
        for line in ShipmentLine.objects.select_related("shipment")
    )
    releases = sorted(
        (r.warehouse.code, r.created_at, r.note, r.shipment_id is not None)
        for r in Release.objects.select_related("warehouse")
    )
    safety = sorted(
        (c.level.product.sku, c.level.warehouse.code, c.changed_at, c.old_value, c.new_value)
        for c in SafetyStockChange.objects.select_related("level__product", "level__warehouse")
    )
    customers = sorted(Customer.objects.values_list("name", "email"))
    return {
        "levels": levels,
        "movements": movements,
        "lines": lines,
        "allocations": allocations,
        "purchase_lines": purchase_lines,
        "shipments": shipments,
        "releases": releases,
        "safety": safety,
        "customers": customers,
    }


def test_bulk_writer_produces_what_the_services_produce(db):
    clock = Clock(now=timezone.localtime())
    plan = plan_block(block=0, seed=7, clock=clock)

    replay = ServiceReplay(
        plan, warehouses=warehouses_create(), users=team_ensure(), started=clock.now
    )
    replay.setup()
    replay.run()
    replay.finish()
    by_services = snapshot()
    wipe()
    rows = Rows()
    BlockSimulation(plan, rows=rows, warehouses=warehouses_create(), users=team_ensure()).run()
    rows.flush()
    in_bulk = snapshot()

    assert len(by_services["movements"]) > 1000
    assert len(by_services["allocations"]) > 500
    for part, expected in by_services.items():
        assert in_bulk[part] == expected, part
    assert "Stock is clean" in check_stock()


def test_scale_two_writes_twice_the_demo_and_keeps_it_clean(db):
    seed("--bulk")
    single = counts()
    wipe()

    output = seed("--scale", "2")

    assert "block 2/2" in output
    double = counts()
    assert double["Warehouse"] == 3
    for model in ("Product", "StockLevel", "Supplier", "Customer", "SalesOrder"):
        assert double[model] == 2 * single[model], model
    for model in ("StockMovement", "OrderLine", "Allocation", "PurchaseOrder", "Shipment"):
        assert 1.6 * single[model] <= double[model] <= 2.4 * single[model], model
    assert "Stock is clean" in check_stock()


def test_the_plan_is_the_same_for_the_same_seed():
    clock = Clock(now=timezone.localtime())

    first = plan_block(block=0, seed=7, clock=clock)
    again = plan_block(block=0, seed=7, clock=clock)
    other = plan_block(block=0, seed=8, clock=clock)

    assert first.events == again.events
    assert first.products == again.products
    assert first.events != other.events


@pytest.mark.parametrize("scale", ["0", "-1", "two"])
def test_scale_must_be_a_whole_number_of_at_least_one(db, scale):
    with pytest.raises(CommandError, match=r"at least 1|not a whole number"):
        seed("--scale", scale)
    assert not Warehouse.objects.exists()
