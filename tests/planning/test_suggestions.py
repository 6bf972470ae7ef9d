"""Reorder suggestions, KPIs and histories: the numbers on known data, edge cases, query counts."""

import datetime as dt
import math
import statistics
import uuid
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import SafetyStockChange, StockLevel
from inventory.services import safety_stock_set
from orders.models import Allocation, AllocationKind, OrderLine, SalesOrder
from orders.services import order_cancel, release_confirm, release_propose
from orders.services.release import ReleaseDecision
from planning.formulas import FORMULA_FIXED_LEAD_TIME, FORMULA_VARIABLE_LEAD_TIME
from planning.selectors import (
    NO_DEMAND,
    NO_SUPPLIER,
    NOT_PREFERRED,
    backordered_units_history,
    reorder_kpis,
    reorder_suggestions,
    supplier_lead_time_chart,
)
from planning.services import safety_stock_apply_suggested
from suppliers.models import PurchaseOrderStatus, Shipment
from tests.factories import (
    CustomerFactory,
    OrderLineFactory,
    ProductFactory,
    PurchaseOrderFactory,
    SalesOrderFactory,
    StockLevelFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import error_codes, give_stock, level_for, place, sent_po, today
from tests.planning.helpers import at, bulk_loaded, preferred, row_for, sold

pytestmark = pytest.mark.django_db

Z95 = statistics.NormalDist().inv_cdf(0.95)


@pytest.fixture(autouse=True)
def short_window(settings):
    settings.BACKSTOCK_DEMAND_WINDOW_DAYS = 10
    settings.BACKSTOCK_REVIEW_PERIOD_DAYS = 14
    settings.BACKSTOCK_SERVICE_LEVEL = 0.95
    settings.BACKSTOCK_HOLDING_COST_RATE = None
    settings.BACKSTOCK_ORDERING_COST = None


# --- the numbers of one row ------------------------------------------------------------------


def test_issue_check_through_a_dashboard_row(settings, product, warehouse):
    # Three days of demand 25, 30, 35: d = 30, sample σd = 5; L = 10; z = 1.65 (service 95.05 %).
    settings.BACKSTOCK_DEMAND_WINDOW_DAYS = 3
    product.service_level = Decimal("0.9505")
    product.save()
    preferred(product, lead_time_days=10)
    sold(product, warehouse, {2: 25, 1: 30, 0: 35})

    row = row_for(reorder_suggestions(), product)

    assert (row.d, row.sigma_d, row.lead_time_days) == (30, 5, 10)
    assert round(row.z, 2) == 1.65
    assert round(row.safety_stock_result.value, 1) == 26.1
    assert row.suggested_safety_stock == 27
    assert row.formula == FORMULA_FIXED_LEAD_TIME
    # Planned with the safety stock set (none yet): ROP = DL + 0 = ⌈30 × 10⌉ = 300; with the
    # suggestion applied, 300 + 27.
    assert (row.lead_demand, row.safety_stock, row.rop) == (300, 0, 300)
    safety_stock_set(level_ids=[row.level_id], value=row.suggested_safety_stock, by=None)
    assert row_for(reorder_suggestions(), product).rop == 327


def test_row_shows_every_input_and_result(manager_user, staff_user, product, warehouse):
    supplier = SupplierFactory(name="Acme")
    preferred(
        product,
        supplier=supplier,
        lead_time_days=9,
        pack_size=6,
        min_order_qty=12,
        unit_cost=Decimal("2.50"),
    )
    history = {9: 4, 7: 10, 4: 6, 1: 8}
    sold(product, warehouse, history)
    give_stock(product, warehouse, 12, by=staff_user)
    sent_po(supplier, warehouse, [(product, 6)], by=manager_user)
    level = level_for(product, warehouse)

    row = row_for(reorder_suggestions(), product)

    daily = [history.get(i, 0) for i in range(10)]
    d, sigma = statistics.fmean(daily), statistics.stdev(daily)
    ss = Z95 * sigma * math.sqrt(9)
    rop = math.ceil(d * 9) + 0  # DL + the safety stock set (none)
    target = rop + math.ceil(d * 14) - 18  # projected = 12 on hand + 6 on order
    qty = max(target, 12)
    qty = math.ceil(qty / 6) * 6
    assert row.level_id == level.pk
    assert (row.on_hand, row.allocated, row.available, row.backordered, row.on_order) == (
        12,
        0,
        12,
        0,
        6,
    )
    assert row.projected == 18
    assert row.d == pytest.approx(d)
    assert row.sigma_d == pytest.approx(sigma)
    assert row.demand_days == 10
    assert row.z == pytest.approx(Z95)
    assert row.service_level == 0.95
    assert row.safety_stock_result.value == pytest.approx(ss)
    assert row.safety_stock_result.inputs == pytest.approx(
        {"z": Z95, "d": d, "sigma_d": sigma, "L": 9.0, "sigma_L": 0.0}
    )
    assert row.suggested_safety_stock == math.ceil(ss)
    assert row.rop == rop
    assert not row.rop_is_manual
    assert row.suggested_qty == qty
    assert (row.pack_size, row.min_order_qty) == (6, 12)
    assert row.unit_cost == Decimal("2.50")
    assert row.line_value == Decimal("2.50") * qty
    assert (row.supplier_id, row.supplier_name, row.supplier_is_preferred) == (
        supplier.pk,
        "Acme",
        True,
    )
    assert row.eoq is None
    assert row.flags == ()


def test_cancelled_units_are_not_demand(product, warehouse):
    preferred(product, lead_time_days=5)
    order = SalesOrderFactory(warehouse=warehouse, placed_at=at(2))
    OrderLineFactory(order=order, product=product, quantity_ordered=10, quantity_cancelled=10)
    bulk_loaded()
    sold(product, warehouse, {1: 5})

    row = row_for(reorder_suggestions(include_all=True), product)

    assert row.d == pytest.approx(0.5)


def test_demand_before_the_window_is_ignored(product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {10: 100, 3: 5})

    row = row_for(reorder_suggestions(include_all=True), product)

    assert row.d == pytest.approx(0.5)


def test_demand_is_per_warehouse(product, warehouse):
    other = WarehouseFactory(code="EAST")
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {1: 10})
    sold(product, other, {1: 30, 2: 30})

    rows = reorder_suggestions(include_all=True)

    assert row_for(rows, product, warehouse).d == pytest.approx(1)
    assert row_for(rows, product, other).d == pytest.approx(6)


# --- edge cases ------------------------------------------------------------------------------


def test_no_demand_history(staff_user, product, warehouse):
    preferred(product, lead_time_days=7)
    give_stock(product, warehouse, 3, by=staff_user)

    assert reorder_suggestions() == []
    row = row_for(reorder_suggestions(include_all=True), product)

    assert (row.d, row.sigma_d, row.safety_stock_result.value, row.rop) == (0, 0, 0, 0)
    assert row.suggested_qty == 0
    assert NO_DEMAND in row.flags


def test_empty_level_nobody_wants_is_not_suggested(product, warehouse):
    preferred(product, lead_time_days=7)
    StockLevelFactory(product=product, warehouse=warehouse)

    assert reorder_suggestions() == []


def test_backorders_without_history_in_window_still_need_ordering(product, warehouse):
    preferred(product, lead_time_days=7)
    sold(product, warehouse, {20: 8}, shipped=False)  # waiting since long before the window

    row = row_for(reorder_suggestions(), product)

    assert row.d == 0
    assert row.projected == -8
    assert row.suggested_qty == 8
    assert row.urgent


def test_zero_variance_demand_needs_no_safety_stock(product, warehouse):
    preferred(product, lead_time_days=4)
    sold(product, warehouse, dict.fromkeys(range(10), 3))

    row = row_for(reorder_suggestions(), product)

    assert row.sigma_d == 0
    assert row.safety_stock_result.value == 0
    assert row.suggested_safety_stock == 0
    assert row.rop == pytest.approx(12)  # d × L = 3 × 4
    assert row.suggested_qty == 12 + 3 * 14


def test_lead_time_zero(product, warehouse):
    preferred(product, lead_time_days=0)
    sold(product, warehouse, {1: 10, 4: 2})

    row = row_for(reorder_suggestions(include_all=True), product)

    assert row.lead_time_days == 0
    assert row.safety_stock_result.value == 0
    assert row.rop == 0
    # projected 0 is at the reorder point: cover the review period's demand, 1.2 × 14 = 16.8.
    assert row.suggested_qty == 17


def test_huge_pack_size_orders_one_whole_pack(product, warehouse):
    preferred(product, lead_time_days=5, pack_size=250_000, min_order_qty=1)
    sold(product, warehouse, {1: 3})

    row = row_for(reorder_suggestions(), product)

    assert row.suggested_qty == 250_000
    assert row.line_value == Decimal("4.50") * 250_000


def test_minimum_order_rounded_up_to_whole_packs(product, warehouse):
    preferred(product, lead_time_days=5, pack_size=10, min_order_qty=15)
    sold(product, warehouse, {1: 1})

    row = row_for(reorder_suggestions(), product)

    assert row.suggested_qty == 20


def test_missing_supplier_row_is_shown_and_flagged(product, warehouse):
    sold(product, warehouse, {1: 4, 2: 6}, shipped=False)

    row = row_for(reorder_suggestions(), product)

    assert row.no_supplier
    assert NO_SUPPLIER in row.flags
    assert (row.supplier_id, row.supplier_name) == (None, None)
    assert row.lead_time_days == 0
    assert row.unit_cost is None
    assert row.line_value is None
    assert row.suggested_qty == 24  # owes 10, plus 1/day × 14 review days


def test_inactive_product_is_never_suggested(product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {1: 4}, shipped=False)
    product.is_active = False
    product.save()

    assert reorder_suggestions() == []
    assert reorder_suggestions(include_all=True) == []


def test_inactive_warehouse_is_never_suggested(product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {1: 4}, shipped=False)
    warehouse.is_active = False
    warehouse.save()

    assert reorder_suggestions(include_all=True) == []


def test_inactive_preferred_supplier_falls_back_to_an_active_one(product, warehouse):
    gone = SupplierFactory(name="Gone Ltd", is_active=False)
    preferred(product, supplier=gone, lead_time_days=3)
    slow = SupplierFactory(name="Slow")
    quick = SupplierFactory(name="Quick")
    SupplierProductFactory(product=product, supplier=slow, lead_time_days=20)
    SupplierProductFactory(product=product, supplier=quick, lead_time_days=6)
    sold(product, warehouse, {1: 4}, shipped=False)

    row = row_for(reorder_suggestions(), product)

    assert row.supplier_name == "Quick"
    assert row.lead_time_days == 6
    assert not row.supplier_is_preferred
    assert NOT_PREFERRED in row.flags


def test_manual_reorder_point_wins(staff_user, product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {1: 10})  # d = 1: computed ROP ≥ 5
    give_stock(product, warehouse, 5, by=staff_user)
    level = level_for(product, warehouse)
    level.reorder_point = 3
    level.save()

    assert reorder_suggestions() == []
    level.reorder_point = 8
    level.save()
    row = row_for(reorder_suggestions(), product)
    assert row.rop == 8
    assert row.rop_is_manual
    assert row.suggested_qty == 8 + 14 - 5


def test_product_service_level_overrides_the_setting(product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, {1: 10, 3: 2})
    product.service_level = Decimal("0.99")
    product.save()

    row = row_for(reorder_suggestions(), product)

    assert row.service_level == pytest.approx(0.99)
    assert row.z == pytest.approx(2.3263, abs=1e-4)


def test_measured_lead_time_spread_used_from_two_deliveries(product, warehouse):
    supplier = SupplierFactory()
    preferred(product, supplier=supplier, lead_time_days=10)
    sold(product, warehouse, {1: 10, 3: 2})
    sent = timezone.now() - dt.timedelta(days=60)
    for days in (8, 12):
        po = PurchaseOrderFactory(
            supplier=supplier,
            status=PurchaseOrderStatus.RECEIVED,
            sent_at=sent,
            expected_date=sent.date() + dt.timedelta(days=10),
        )
        shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
        Shipment.objects.filter(pk=shipment.pk).update(received_at=sent + dt.timedelta(days=days))

    row = row_for(reorder_suggestions(), product)

    assert row.lead_time_samples == 2
    assert row.sigma_lead_time == pytest.approx(math.sqrt(8))
    assert row.lead_time_days == 10  # still the promised L
    assert row.formula == FORMULA_VARIABLE_LEAD_TIME
    d, sigma = row.d, row.sigma_d
    assert row.safety_stock_result.value == pytest.approx(Z95 * math.sqrt(10 * sigma**2 + d**2 * 8))


def test_one_measured_delivery_gives_no_lead_time_spread(product, warehouse):
    supplier = SupplierFactory()
    preferred(product, supplier=supplier, lead_time_days=10)
    sold(product, warehouse, {1: 10, 3: 2})
    sent = timezone.now() - dt.timedelta(days=30)
    po = PurchaseOrderFactory(supplier=supplier, status=PurchaseOrderStatus.RECEIVED, sent_at=sent)
    Shipment.objects.create(purchase_order=po, idempotency_key="one")

    row = row_for(reorder_suggestions(), product)

    assert row.lead_time_samples == 1
    assert row.sigma_lead_time == 0
    assert row.formula == FORMULA_FIXED_LEAD_TIME


def test_eoq_shown_when_costs_are_set(settings, product, warehouse):
    settings.BACKSTOCK_HOLDING_COST_RATE = 0.25
    supplier = SupplierFactory(ordering_cost=Decimal("40.00"))
    preferred(product, supplier=supplier, lead_time_days=5, unit_cost=Decimal("8.00"))
    sold(product, warehouse, {1: 10, 3: 10})

    row = row_for(reorder_suggestions(), product)

    # D = 2/day × 365 = 730; √(2 × 730 × 40 / (8 × 0.25)) = √29200
    assert row.eoq == pytest.approx(math.sqrt(29200))


def test_eoq_falls_back_to_the_ordering_cost_setting(settings, product, warehouse):
    settings.BACKSTOCK_HOLDING_COST_RATE = 0.25
    settings.BACKSTOCK_ORDERING_COST = 40.0
    preferred(product, lead_time_days=5, unit_cost=Decimal("8.00"))
    sold(product, warehouse, {1: 10, 3: 10})

    assert row_for(reorder_suggestions(), product).eoq == pytest.approx(math.sqrt(29200))


def test_no_eoq_without_holding_rate(product, warehouse):
    supplier = SupplierFactory(ordering_cost=Decimal("40.00"))
    preferred(product, supplier=supplier, lead_time_days=5)
    sold(product, warehouse, {1: 10})

    assert row_for(reorder_suggestions(), product).eoq is None


# --- which rows, in which order ----------------------------------------------------------------


def test_projected_above_reorder_point_is_not_suggested(staff_user, product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, dict.fromkeys(range(10), 2))  # d = 2, σd = 0: ROP = 10
    give_stock(product, warehouse, 11, by=staff_user)

    assert reorder_suggestions() == []
    assert row_for(reorder_suggestions(include_all=True), product).suggested_qty == 0


def test_projected_at_reorder_point_is_suggested(staff_user, product, warehouse):
    preferred(product, lead_time_days=5)
    sold(product, warehouse, dict.fromkeys(range(10), 2))
    give_stock(product, warehouse, 10, by=staff_user)

    row = row_for(reorder_suggestions(), product)

    assert row.projected == row.rop == 10
    assert row.suggested_qty == 28  # up to 10 + 2 × 14


def test_urgent_when_below_safety_stock_or_backorders_wait(staff_user, warehouse):
    below, waiting, calm = ProductFactory(), ProductFactory(), ProductFactory()
    for product in (below, waiting, calm):
        preferred(product, lead_time_days=5)
        sold(product, warehouse, {1: 20, 2: 1})
    give_stock(below, warehouse, 4, by=staff_user)
    level = level_for(below, warehouse)
    level.safety_stock = 5
    level.save()
    sold(waiting, warehouse, {0: 1}, shipped=False)
    give_stock(calm, warehouse, 2, by=staff_user)

    rows = reorder_suggestions()
    urgent = reorder_suggestions(urgent_only=True)

    assert row_for(rows, below).urgent
    assert row_for(rows, waiting).urgent
    assert not row_for(rows, calm).urgent
    assert {r.product_id for r in urgent} == {below.pk, waiting.pk}


def test_filters_by_warehouse_and_supplier(warehouse):
    east = WarehouseFactory(code="EAST")
    acme, bolt = SupplierFactory(name="Acme"), SupplierFactory(name="Bolt")
    a, b = ProductFactory(), ProductFactory()
    preferred(a, supplier=acme)
    preferred(b, supplier=bolt)
    SupplierProductFactory(product=b, supplier=acme)  # Acme can supply b, but b is bought from Bolt
    for product in (a, b):
        for wh in (warehouse, east):
            sold(product, wh, {1: 5}, shipped=False)

    by_warehouse = reorder_suggestions(warehouse_id=east.pk)
    by_supplier = reorder_suggestions(supplier_id=acme.pk)

    assert {r.warehouse_id for r in by_warehouse} == {east.pk}
    assert len(by_warehouse) == 2
    assert {(r.product_id, r.supplier_id) for r in by_supplier} == {(a.pk, acme.pk)}
    assert len(by_supplier) == 2


def test_sorted_by_supplier_then_warehouse_then_sku():
    north, south = WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")
    zed, acme = SupplierFactory(name="Zed"), SupplierFactory(name="acme")
    items = [
        (ProductFactory(sku="B-2"), zed),
        (ProductFactory(sku="A-1"), zed),
        (ProductFactory(sku="C-3"), acme),
        (ProductFactory(sku="A-0"), None),
    ]
    for product, supplier in items:
        if supplier:
            preferred(product, supplier=supplier)
        for wh in (south, north):
            sold(product, wh, {1: 5}, shipped=False)

    rows = reorder_suggestions()

    assert [(r.supplier_name, r.warehouse_code, r.sku) for r in rows] == [
        ("acme", "NORTH", "C-3"),
        ("acme", "SOUTH", "C-3"),
        ("Zed", "NORTH", "A-1"),
        ("Zed", "NORTH", "B-2"),
        ("Zed", "SOUTH", "A-1"),
        ("Zed", "SOUTH", "B-2"),
        (None, "NORTH", "A-0"),
        (None, "SOUTH", "A-0"),
    ]


# --- query counts ------------------------------------------------------------------------------


def build_levels(count: int, warehouses):
    suppliers = [SupplierFactory() for _ in range(3)]
    for i in range(count):
        product = ProductFactory()
        if i % 4:
            preferred(product, supplier=suppliers[i % 3], lead_time_days=3 + i % 5)
        sold(product, warehouses[i % len(warehouses)], {1: 2 + i % 3, 4: 1}, shipped=False)
    for supplier in suppliers:
        for days in (5, 9):
            po = PurchaseOrderFactory(
                supplier=supplier,
                status=PurchaseOrderStatus.RECEIVED,
                sent_at=timezone.now() - dt.timedelta(days=40),
            )
            shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
            Shipment.objects.filter(pk=shipment.pk).update(
                received_at=timezone.now() - dt.timedelta(days=40 - days)
            )


def queries_of(func, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = func(**kwargs)
    return len(captured), result


@pytest.mark.parametrize("func", ["suggestions", "kpis", "history", "chart"])
def test_query_count_does_not_grow_with_rows(func):
    run = {
        "suggestions": reorder_suggestions,
        "kpis": reorder_kpis,
        "history": backordered_units_history,
        "chart": supplier_lead_time_chart,
    }[func]
    warehouses = [WarehouseFactory(code="NORTH"), WarehouseFactory(code="SOUTH")]
    build_levels(3, warehouses)
    few, few_result = queries_of(run)
    build_levels(30, warehouses)
    many, many_result = queries_of(run)

    assert few == many
    if func == "suggestions":
        assert (len(few_result), len(many_result)) == (3, 33)


def test_suggestion_queries_itemised(django_assert_num_queries, warehouse):
    build_levels(20, [warehouse])
    reorder_suggestions()  # the day's first read refreshes the stored plan first
    # 1 is the stored plan current (for today and the settings)?
    # 2 the screen: every suggested level's inputs in order (the stored plan with its copy of
    #   the level's counters, product, warehouse, chosen term and supplier)
    # 3 suppliers with their promised lead times   } supplier_lead_times
    # 4 sent purchase orders with first receipts   }
    with django_assert_num_queries(4):
        rows = reorder_suggestions()
    assert len(rows) == 20


# --- KPIs --------------------------------------------------------------------------------------


def test_kpis_backorder_lines_units_value_and_aging(warehouse):
    priced, unpriced = ProductFactory(), ProductFactory()
    preferred(priced, unit_cost=Decimal("2.50"))
    SupplierProductFactory(product=priced, unit_cost=Decimal("99.00"))  # not the one bought from
    for days_ago, quantity in [(0, 1), (7, 2), (8, 3), (14, 4), (15, 5), (30, 6), (31, 7)]:
        sold(priced, warehouse, {days_ago: quantity}, shipped=False)
    sold(unpriced, warehouse, {3: 10}, shipped=False)
    sold(priced, warehouse, {2: 50})  # shipped: nothing waits

    kpis = reorder_kpis()

    assert kpis["backorder_lines"] == 8
    assert kpis["backorder_units"] == 38
    assert str(kpis["backorder_value"]) == "70.00"  # 28 × 2.50 + 10 × 0
    assert [(b["label"], b["lines"], b["units"]) for b in kpis["aging"]] == [
        ("0–7 days", 3, 13),
        ("8–14 days", 2, 7),
        ("15–30 days", 2, 11),
        ("> 30 days", 1, 7),
    ]
    assert set(kpis["definitions"]) >= {"fill_rate", "stockouts", "backorder_value"}


def test_kpis_fill_rate_counts_lines_fully_allocated_when_placed(staff_user, warehouse):
    product = ProductFactory()
    customer = CustomerFactory()
    give_stock(product, warehouse, 8, by=staff_user)
    place(customer, warehouse, [(product, 5)], by=staff_user, placed_at=at(3))  # full
    place(customer, warehouse, [(product, 5)], by=staff_user, placed_at=at(2))  # 3 of 5
    place(customer, warehouse, [(product, 2)], by=staff_user, placed_at=at(45))  # too old
    give_stock(product, warehouse, 3, by=staff_user)  # 4 are owed to the queue: nothing free
    place(customer, warehouse, [(product, 1)], by=staff_user, placed_at=at(1))

    kpis = reorder_kpis()

    assert (kpis["fill_rate_lines"], kpis["fill_rate_filled"]) == (3, 1)
    assert kpis["fill_rate"] == pytest.approx(1 / 3)


def test_kpis_fill_rate_without_orders_is_none(db):
    assert reorder_kpis()["fill_rate"] is None


def test_kpis_below_safety_stock_and_stockouts(staff_user, warehouse):
    short, out_with_demand, out_quiet, allocated_out = (ProductFactory() for _ in range(4))
    give_stock(short, warehouse, 3, by=staff_user)
    level = level_for(short, warehouse)
    level.safety_stock = 5
    level.save()
    sold(out_with_demand, warehouse, {4: 2})
    StockLevelFactory(product=out_quiet, warehouse=warehouse)
    give_stock(allocated_out, warehouse, 4, by=staff_user)
    place(CustomerFactory(), warehouse, [(allocated_out, 4)], by=staff_user)

    kpis = reorder_kpis()

    assert kpis["below_safety_stock"] == 1
    assert kpis["stockouts"] == 2  # out_with_demand and allocated_out


def test_kpis_stockouts_count_each_level_once_and_only_its_own_window_demand(warehouse):
    other = WarehouseFactory(code="EAST")
    many_days, cancelled, elsewhere, too_old = (ProductFactory() for _ in range(4))
    sold(many_days, warehouse, {1: 2, 2: 3, 3: 4})  # one stockout, not three
    order = SalesOrderFactory(warehouse=warehouse, placed_at=at(2))
    OrderLineFactory(order=order, product=cancelled, quantity_ordered=5, quantity_cancelled=5)
    bulk_loaded()
    level_for(cancelled, warehouse)
    sold(elsewhere, other, {1: 2})  # the demand is the other warehouse's
    level_for(elsewhere, warehouse)
    sold(too_old, warehouse, {10: 2})  # before the window

    kpis = reorder_kpis()

    # many_days here, and elsewhere in the other warehouse
    assert kpis["stockouts"] == 2


def test_kpis_on_time_rate_over_all_suppliers(db):
    sent = timezone.now() - dt.timedelta(days=20)
    for supplier, late in [(SupplierFactory(), False), (SupplierFactory(), True)]:
        for _ in range(2 if not late else 1):
            po = PurchaseOrderFactory(
                supplier=supplier,
                status=PurchaseOrderStatus.RECEIVED,
                sent_at=sent,
                expected_date=sent.date() + dt.timedelta(days=5),
            )
            shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
            Shipment.objects.filter(pk=shipment.pk).update(
                received_at=sent + dt.timedelta(days=9 if late else 2)
            )

    kpis = reorder_kpis()

    assert (kpis["on_time_deliveries"], kpis["deliveries"]) == (2, 3)
    assert kpis["on_time_rate"] == pytest.approx(2 / 3)


# --- backordered units over time ---------------------------------------------------------------


def test_backordered_history_rebuilds_each_day(staff_user, warehouse):
    first, second = ProductFactory(), ProductFactory()
    customer = CustomerFactory()
    # Day −8: A waits for 10.
    order_a = place(customer, warehouse, [(first, 10)], by=staff_user, placed_at=at(8))
    # Day −6: 4 released to A (6 still waiting).
    give_stock(first, warehouse, 4, by=staff_user)
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[first.pk])
    release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=[first.pk],
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for p in plan.products
            for line in p.lines
        ],
        by=staff_user,
    )
    Allocation.objects.filter(kind=AllocationKind.RELEASE).update(created_at=at(6, 10))
    # Day −5: B gets 2 of 5 at once (its placement row is written now, but counts on day −5).
    give_stock(second, warehouse, 2, by=staff_user)
    place(customer, warehouse, [(second, 5)], by=staff_user, placed_at=at(5))
    # Day −4: D waits for 2; cancelled on day −2 with nothing allocated (order's cancel time).
    order_d = place(customer, warehouse, [(second, 2)], by=staff_user, placed_at=at(4))
    order_cancel(order_id=order_d.pk, reason="Customer changed mind", by=staff_user)
    SalesOrder.objects.filter(pk=order_d.pk).update(cancelled_at=at(2, 9))
    # Day −3: A cancelled: its 4 allocated are freed and its 6 waiting go.
    order_cancel(order_id=order_a.pk, reason="Too late", by=staff_user)
    Allocation.objects.filter(kind=AllocationKind.CANCELLATION).update(created_at=at(3, 11))
    SalesOrder.objects.filter(pk=order_a.pk).update(cancelled_at=at(3, 11))

    series = backordered_units_history(days=10)

    assert [day for day, _ in series] == [today() - dt.timedelta(days=i) for i in range(9, -1, -1)]
    assert [units for _, units in series] == [0, 10, 10, 6, 9, 11, 5, 3, 3, 3]
    assert OrderLine.objects.filter(quantity_backordered__gt=0).count() == 1


def test_backordered_history_ending_in_the_past(warehouse):
    product = ProductFactory()
    sold(product, warehouse, {5: 4}, shipped=False)
    sold(product, warehouse, {1: 6}, shipped=False)

    series = backordered_units_history(days=4, today=today() - dt.timedelta(days=3))

    assert [day for day, _ in series][-1] == today() - dt.timedelta(days=3)
    assert [units for _, units in series] == [0, 4, 4, 4]


def test_backordered_history_counts_waiting_from_before_the_window(warehouse):
    product = ProductFactory()
    sold(product, warehouse, {40: 7}, shipped=False)

    series = backordered_units_history(days=5)

    assert [units for _, units in series] == [7] * 5


# --- lead time chart ---------------------------------------------------------------------------


def test_lead_time_chart_promised_beside_measured(db):
    measured = SupplierFactory(name="Measured")
    SupplierProductFactory(supplier=measured, lead_time_days=6)
    sent = timezone.now() - dt.timedelta(days=30)
    po = PurchaseOrderFactory(supplier=measured, status=PurchaseOrderStatus.RECEIVED, sent_at=sent)
    shipment = Shipment.objects.create(purchase_order=po, idempotency_key="chart")
    Shipment.objects.filter(pk=shipment.pk).update(received_at=sent + dt.timedelta(days=8))
    promised_only = SupplierFactory(name="another")
    SupplierProductFactory(supplier=promised_only, lead_time_days=4)
    SupplierFactory(name="No terms, no orders")

    chart = supplier_lead_time_chart()

    assert chart == [("another", 4.0, None), ("Measured", 6.0, pytest.approx(8.0))]


# --- applying suggested safety stock -------------------------------------------------------------


def test_apply_suggested_safety_stock_records_the_formula_and_inputs(
    manager_user, product, warehouse
):
    preferred(product, lead_time_days=9)
    sold(product, warehouse, {9: 4, 7: 10, 4: 6, 1: 8})
    level = level_for(product, warehouse)
    level.safety_stock = 3
    level.save()
    row = row_for(reorder_suggestions(include_all=True), product)

    (change,) = safety_stock_apply_suggested(level_ids=[level.pk], by=manager_user)

    level.refresh_from_db()
    assert level.safety_stock == row.suggested_safety_stock == change.new_value
    assert change.old_value == 3
    assert change.changed_by == manager_user
    assert change.reason == (f"Applied suggestion (z × σd × √L, z=1.64, σd={row.sigma_d:.2f}, L=9)")
    assert SafetyStockChange.objects.count() == 1


def test_apply_suggested_with_variable_lead_time_names_d_and_sigma_l(
    manager_user, product, warehouse
):
    supplier = SupplierFactory()
    preferred(product, supplier=supplier, lead_time_days=10)
    sold(product, warehouse, {1: 10, 3: 2})
    sent = timezone.now() - dt.timedelta(days=60)
    for days in (8, 12):
        po = PurchaseOrderFactory(
            supplier=supplier, status=PurchaseOrderStatus.RECEIVED, sent_at=sent
        )
        shipment = Shipment.objects.create(purchase_order=po, idempotency_key=uuid.uuid4().hex)
        Shipment.objects.filter(pk=shipment.pk).update(received_at=sent + dt.timedelta(days=days))
    level = level_for(product, warehouse)

    (change,) = safety_stock_apply_suggested(level_ids=[level.pk], by=manager_user)

    assert change.reason.startswith("Applied suggestion (z × √(L × σd² + d² × σL²), z=1.64, ")
    assert change.reason.endswith(", L=10, d=1.20, σL=2.83)")


def test_apply_suggested_skips_levels_already_at_the_suggestion(manager_user, warehouse):
    steady, lumpy = ProductFactory(), ProductFactory()
    for product in (steady, lumpy):
        preferred(product, lead_time_days=4)
    sold(steady, warehouse, dict.fromkeys(range(10), 3))  # σd = 0: suggestion 0, already 0
    sold(lumpy, warehouse, {1: 30})

    changes = safety_stock_apply_suggested(
        level_ids=[level_for(steady, warehouse).pk, level_for(lumpy, warehouse).pk],
        by=manager_user,
    )

    assert [c.level.product_id for c in changes] == [lumpy.pk]


def test_apply_suggested_refuses_unknown_or_inactive_levels_and_changes_nothing(
    manager_user, warehouse
):
    active, inactive = ProductFactory(), ProductFactory(is_active=False)
    for product in (active, inactive):
        sold(product, warehouse, {1: 30})
    ids = [level_for(active, warehouse).pk, level_for(inactive, warehouse).pk]

    with pytest.raises(ValidationError) as excinfo:
        safety_stock_apply_suggested(level_ids=ids, by=manager_user)
    with pytest.raises(ValidationError):
        safety_stock_apply_suggested(level_ids=[ids[0], 987_654], by=manager_user)

    assert error_codes(excinfo) == {"unknown_level"}
    assert SafetyStockChange.objects.count() == 0
    assert set(StockLevel.objects.values_list("safety_stock", flat=True)) == {0}


@pytest.mark.parametrize("level_ids", ["1", None, [], ["x"], [False], [-3]])
def test_apply_suggested_refuses_bad_ids(manager_user, level_ids):
    with pytest.raises(ValidationError) as excinfo:
        safety_stock_apply_suggested(level_ids=level_ids, by=manager_user)

    assert error_codes(excinfo) <= {"unknown_level", "no_levels"}


def test_apply_suggested_is_all_or_nothing(manager_user, warehouse):
    product = ProductFactory()
    sold(product, warehouse, {1: 30})
    level = level_for(product, warehouse)

    with (
        mock.patch.object(
            SafetyStockChange.objects, "bulk_create", side_effect=RuntimeError("disk full")
        ),
        pytest.raises(RuntimeError),
    ):
        safety_stock_apply_suggested(level_ids=[level.pk], by=manager_user)

    level.refresh_from_db()
    assert level.safety_stock == 0
