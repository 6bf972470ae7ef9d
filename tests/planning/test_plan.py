"""The stored reorder plan: written by the refreshes, kept current by every change that moves it,
and held to its recomputation by check_stock."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from backoffice.integrity import plan_mismatches
from inventory.models import StockLevel
from inventory.services import reorder_point_record, safety_stock_set, stock_adjust
from orders.services import order_cancel
from planning.models import LevelPlan, PlanRefresh
from planning.plan import plan_current, plan_differences, plan_refresh, plan_refresh_all
from planning.selectors import reorder_suggestions, screen_page
from suppliers.services import shipment_receive
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import admin_url, give_stock, level_for, place, sent_po, today
from tests.planning.helpers import DASHBOARD, preferred, row_for


def plan_of(level) -> LevelPlan:
    return LevelPlan.objects.get(level_id=level.pk)


@pytest.fixture
def selling(db, staff_user):
    """WIDGET at MAIN sold 4, 6 and 8 units on the last three days, bought in packs of 12."""
    main = WarehouseFactory(code="MAIN")
    widget = ProductFactory(sku="WIDGET")
    supplier = SupplierFactory(name="Northwind")
    preferred(widget, supplier=supplier, lead_time_days=10, pack_size=12, unit_cost=Decimal("2.5"))
    give_stock(widget, main, 30, by=staff_user)
    customer = CustomerFactory()
    for days_ago, quantity in [(1, 4), (2, 6), (3, 8)]:
        place(customer, main, [(widget, quantity)], by=staff_user, days_ago=days_ago)
    plan_refresh_all()
    return {"main": main, "widget": widget, "supplier": supplier, "customer": customer}


def test_full_refresh_writes_the_inputs_and_the_reorder_point_by_hand(selling):
    level = level_for(selling["widget"], selling["main"])
    row = plan_of(level)
    n = 90
    mean = 18 / n
    variance = (4**2 + 6**2 + 8**2 - 18**2 / n) / (n - 1)
    assert (row.demand_units, int(row.demand_squares), row.demand_days) == (18, 116, 3)
    assert row.daily_mean == pytest.approx(mean, rel=1e-12)
    assert row.daily_variance == pytest.approx(variance, rel=1e-12)
    assert (row.pack_size, row.lead_time_days, row.unit_cost) == (12, 10, Decimal("2.50"))
    # DL = ⌈0.2 × 10⌉ = 2 and RD = ⌈0.2 × 14⌉ = 3, whole units.
    assert (row.lead_demand, row.review_demand) == (2, 3)
    # The copy of the level's counters.
    assert (row.on_hand, row.allocated, row.backordered) == (30, 18, 0)
    assert PlanRefresh.objects.get().day == today()
    assert plan_differences() == []


def test_levels_that_cannot_need_ordering_get_no_row_and_lose_theirs(selling, staff_user):
    idle = level_for(ProductFactory(), selling["main"])
    give_stock(idle.product, selling["main"], 5, by=staff_user)
    plan_refresh(level_ids=[idle.pk], levels_locked=True)  # a row of zeros, as a targeted one
    assert plan_of(idle).demand_units == 0

    plan_refresh_all()

    assert not LevelPlan.objects.filter(level_id=idle.pk).exists()
    assert LevelPlan.objects.filter(level_id=level_for(selling["widget"], selling["main"]).pk)


def test_an_order_placed_updates_the_plan_in_its_transaction(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    place(selling["customer"], selling["main"], [(selling["widget"], 40)], by=staff_user)

    row = plan_of(level)
    assert row.demand_units == 58
    # Its copy of the counters follows the placement's own update of the level.
    assert (row.allocated, row.backordered) == (30, 28)
    assert PlanRefresh.objects.get().day == today()  # no full refresh was needed
    assert plan_differences() == []
    page = screen_page(limit=10)
    assert [r.level_id for r in page.rows] == [level.pk]
    assert page.urgent == 1


def test_a_first_order_at_a_new_level_puts_it_on_the_dashboard_at_once(selling, staff_user):
    gadget = ProductFactory(sku="GADGET")
    place(selling["customer"], selling["main"], [(gadget, 3)], by=staff_user)

    level = level_for(gadget, selling["main"])
    assert plan_of(level).backordered == 3
    assert level.pk in [row.level_id for row in reorder_suggestions()]
    assert plan_differences() == []


def test_a_cancellation_takes_its_units_out_of_the_demand(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    order = place(selling["customer"], selling["main"], [(selling["widget"], 10)], by=staff_user)
    assert plan_of(level).demand_units == 28

    order_cancel(order_id=order.pk, reason="Customer changed their mind", by=staff_user)

    assert plan_of(level).demand_units == 18
    assert plan_differences() == []


def test_stock_movements_and_safety_stock_reach_the_copy_through_the_trigger(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    stock_adjust(level_id=level.pk, delta=7, reason="Found a box", by=staff_user)
    safety_stock_set(level_ids=[level.pk], value=9, by=staff_user)

    row = plan_of(level)
    assert (row.on_hand, row.safety_stock) == (37, 9)
    assert plan_differences() == []


def test_a_term_edit_changes_the_plan_of_its_product(selling):
    level = level_for(selling["widget"], selling["main"])
    term = selling["widget"].supply_terms.get()
    term.pack_size, term.lead_time_days = 24, 20
    term.save()

    row = plan_of(level)
    assert (row.pack_size, row.lead_time_days) == (24, 20)
    assert row.lead_demand == 4  # ⌈0.2 × 20⌉
    assert plan_differences() == []


def test_a_cheaper_quicker_term_and_a_switched_off_supplier_change_the_choice(selling):
    level = level_for(selling["widget"], selling["main"])
    other = SupplierFactory(name="Acme")
    SupplierProductFactory(product=selling["widget"], supplier=other, lead_time_days=3)
    assert plan_of(level).supplier_id == selling["supplier"].pk  # the preferred one still

    selling["supplier"].is_active = False
    selling["supplier"].save()

    assert plan_of(level).supplier_id == other.pk
    assert plan_differences() == []


def test_deliveries_reach_the_plan_through_the_levels_counters(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    po = sent_po(selling["supplier"], selling["main"], [(selling["widget"], 12)], by=staff_user)
    assert plan_of(level).on_order == 12
    line = po.lines.get()
    shipment_receive(
        purchase_order_id=po.pk,
        quantities={line.pk: 12},
        idempotency_key=f"receipt-{po.pk}",
        by=staff_user,
    )

    row = plan_of(level)
    assert (row.on_hand, row.on_order) == (42, 0)
    assert plan_differences() == []


def test_a_product_or_a_warehouse_switched_off(selling):
    level = level_for(selling["widget"], selling["main"])
    selling["widget"].is_active = False
    selling["widget"].save()
    assert plan_of(level).is_active is False
    selling["widget"].is_active = True
    selling["widget"].save()
    assert plan_of(level).is_active is True

    selling["main"].is_active = False
    selling["main"].save()
    assert plan_of(level).is_active is False
    assert screen_page(limit=10).total == 0
    assert plan_differences() == []


def test_a_manual_reorder_point_set_in_the_admin_gives_the_level_a_row(
    admin_client, selling, staff_user
):
    idle = level_for(ProductFactory(sku="IDLE"), selling["main"])
    give_stock(idle.product, selling["main"], 5, by=staff_user)
    assert not LevelPlan.objects.filter(level_id=idle.pk).exists()

    response = admin_client.post(
        admin_url(StockLevel, "change", idle.pk),
        {
            "safety_stock": "0",
            "reorder_point": "20",
            "product": idle.product_id,
            "warehouse": idle.warehouse_id,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert plan_of(idle).reorder_point == 20
    assert idle.pk in [row.level_id for row in reorder_suggestions()]
    assert plan_differences() == []


def test_the_days_first_read_and_a_settings_change_refresh_every_level(selling, staff_user):
    PlanRefresh.objects.update(day=today() - dt.timedelta(days=1))
    plan_current()
    assert PlanRefresh.objects.get().day == today()

    with override_settings(BACKSTOCK_REVIEW_PERIOD_DAYS=28):
        level = level_for(selling["widget"], selling["main"])
        assert plan_of(level).review_demand == 3
        plan_current()
        assert plan_of(level).review_demand == 6  # ⌈0.2 × 28⌉
        assert plan_differences() == []


def test_check_stock_reports_a_plan_that_disagrees(selling):
    level = level_for(selling["widget"], selling["main"])
    LevelPlan.objects.filter(level_id=level.pk).update(on_hand=999, pack_size=5)

    found = {(d.check, d.subject, d.found) for d in plan_mismatches()}

    assert found == {
        ("plan", "WIDGET @ MAIN", "on hand 999"),
        ("plan", "WIDGET @ MAIN", "pack size 5"),
    }


def test_check_stock_reports_a_level_that_needs_a_row_and_has_none(selling):
    level = level_for(selling["widget"], selling["main"])
    LevelPlan.objects.filter(level_id=level.pk).delete()

    assert [(d.subject, d.found) for d in plan_mismatches()] == [("WIDGET @ MAIN", "no plan row")]


def test_plan_refresh_command(selling):
    LevelPlan.objects.all().delete()
    out = io.StringIO()
    call_command("plan_refresh", stdout=out)
    assert out.getvalue().startswith(f"Reorder plan refreshed for {today():%d %b %Y}: 1 levels in")
    assert LevelPlan.objects.count() == 1


def test_the_dashboard_refreshes_a_stale_plan_before_it_reads(
    client, manager_user, selling, staff_user
):
    place(selling["customer"], selling["main"], [(selling["widget"], 40)], by=staff_user)
    PlanRefresh.objects.all().delete()
    LevelPlan.objects.all().delete()
    client.force_login(manager_user)

    response = client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    assert "WIDGET" in response.content.decode()
    assert PlanRefresh.objects.get().day == today()
    assert LevelPlan.objects.count() == 1


def test_the_screen_and_the_rows_agree_after_changes(selling, staff_user):
    other = ProductFactory(sku="OTHER")
    preferred(other, pack_size=5)
    place(selling["customer"], selling["main"], [(other, 7)], by=staff_user)
    rows = reorder_suggestions()
    row = row_for(rows, other, selling["main"])
    assert row.suggested_qty >= 7
    assert row.suggested_qty % 5 == 0
    page = screen_page(limit=100)
    assert page.total == len(rows)
    assert [r.level_id for r in page.rows] == [r.level_id for r in rows]


def test_a_refresh_that_finds_the_plan_current_once_it_holds_the_lock_does_nothing(selling):
    # As a request that waited behind another's refresh finds it: nothing is rewritten.
    level = level_for(selling["widget"], selling["main"])
    LevelPlan.objects.filter(level_id=level.pk).update(pack_size=99)
    before = PlanRefresh.objects.get()

    record = plan_refresh_all(unless_current=True)

    assert record.finished_at == before.finished_at
    assert plan_of(level).pack_size == 99
    plan_refresh_all()
    assert plan_of(level).pack_size == 12


def test_a_level_below_its_set_safety_stock_appears_without_any_demand(selling, staff_user):
    quiet = ProductFactory(sku="QUIET")
    preferred(quiet, pack_size=1)
    give_stock(quiet, selling["main"], 3, by=staff_user)
    level = level_for(quiet, selling["main"])
    assert level.pk not in [row.level_id for row in reorder_suggestions()]

    safety_stock_set(level_ids=[level.pk], value=5, by=staff_user)

    row = row_for(reorder_suggestions(), quiet, selling["main"])
    assert (row.lead_demand, row.safety_stock, row.rop) == (0, 5, 5)  # DL 0 + SS 5
    assert row.urgent
    assert row.suggested_qty == 2  # up to ROP + RD = 5 + 0 from 3
    assert screen_page(limit=10).total == 1
    assert plan_differences() == []


def test_a_level_with_customers_waiting_appears_even_when_supply_covers_them(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    place(selling["customer"], selling["main"], [(selling["widget"], 20)], by=staff_user)
    sent_po(selling["supplier"], selling["main"], [(selling["widget"], 60)], by=staff_user)

    row = row_for(reorder_suggestions(), selling["widget"], selling["main"])
    assert row.backordered == 8
    assert row.projected > row.rop
    assert row.suggested_qty == 0
    assert [r.level_id for r in screen_page(limit=10).rows] == [level.pk]


def test_applying_the_suggested_safety_stock_moves_the_reorder_point(selling, staff_user):
    level = level_for(selling["widget"], selling["main"])
    place(selling["customer"], selling["main"], [(selling["widget"], 40)], by=staff_user)
    before = row_for(reorder_suggestions(), selling["widget"], selling["main"])
    assert before.rop == before.lead_demand  # nothing set yet

    safety_stock_set(level_ids=[level.pk], value=before.suggested_safety_stock, by=staff_user)

    after = row_for(reorder_suggestions(), selling["widget"], selling["main"])
    assert after.rop == after.lead_demand + before.suggested_safety_stock
    assert after.suggested_qty >= before.suggested_qty
    assert plan_differences() == []


def test_the_reorder_point_service_sets_and_clears_it_and_the_plan_follows(selling):
    level = level_for(selling["widget"], selling["main"])
    with transaction.atomic():
        reorder_point_record(level_id=level.pk, value=40)
    assert plan_of(level).reorder_point == 40
    assert row_for(reorder_suggestions(), selling["widget"], selling["main"]).rop == 40

    with transaction.atomic():
        reorder_point_record(level_id=level.pk, value=None)
    assert plan_of(level).reorder_point is None
    assert plan_differences() == []
