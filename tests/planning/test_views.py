"""The reorder dashboard: its charts, and (below) the page, its actions and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import SafetyStockChange, StockLevel
from orders.models import OrderLine
from planning.charts import (
    AgingBucket,
    aging_bars_svg,
    backorders_line_svg,
    lead_time_bars_svg,
    nice_ceiling,
)
from planning.plan import plan_refresh_all
from planning.selectors import reorder_kpis, reorder_suggestions
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    SupplierProductFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, level_for, place, sent_po, table_counts
from tests.planning.helpers import APPLY, DASHBOARD, DRAFT

# --- charts --------------------------------------------------------------------------------


def _days(values):
    start = dt.date(2026, 8, 1)
    return [(start + dt.timedelta(days=i), value) for i, value in enumerate(values)]


def _assert_csp_clean(svg: str):
    # Styled by classes only: a strict CSP refuses style attributes and <style> elements.
    assert "style=" not in svg
    assert "<style" not in svg
    assert "<script" not in svg


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [
        (0, 1, 1),
        (1, 1, 1),
        (3, 3, 1),
        (7, 8, 2),
        (9, 10, 5),
        (40, 40, 10),
        (41, 60, 20),
        (977, 1000, 500),
    ],
)
def test_nice_ceiling_holds_the_value_in_round_steps(value, top, step):
    assert nice_ceiling(value) == (top, step)


def test_backorders_line_labels_the_latest_value_and_the_peak():
    svg = backorders_line_svg(_days([0, 5, 12, 30, 8, 3]))
    _assert_csp_clean(svg)
    assert "Now 3</text>" in svg
    assert "Peak 30 on 04 Aug" in svg
    assert '<polyline class="rc-line"' in svg
    # The words a screen reader gets sum the chart up.
    assert re.search(
        r"<desc[^>]*>From 01 Aug 2026 to 06 Aug 2026: now 3 units backordered; "
        r"highest 30 on 04 Aug; lowest 0\.</desc>",
        svg,
    )


def test_backorders_line_without_backorders_says_so():
    svg = backorders_line_svg(_days([0] * 90))
    assert "No units were backordered in this period." in svg
    assert "Peak" not in svg
    assert "Backordered units, last 90 days" in svg


def test_backorders_line_without_history_is_a_note_not_an_error():
    svg = backorders_line_svg([])
    assert "No backorder history to show." in svg
    _assert_csp_clean(svg)


def test_aging_bars_carry_units_and_lines_as_text_and_differ_by_pattern():
    svg = aging_bars_svg(
        [
            AgingBucket("0–7 days", 3, 40),
            AgingBucket("8–14 days", 2, 12),
            AgingBucket("15–30 days", 1, 5),
            AgingBucket("> 30 days", 4, 9),
        ]
    )
    _assert_csp_clean(svg)
    for text in ("40 units", "12 units", "5 units", "9 units", "3 lines", "1 line<", "4 lines"):
        assert text in svg
    assert "&gt; 30 days" in svg
    fills = re.findall(r'class="rc-bar (rc-fill-\w+)"', svg)
    assert fills == ["rc-fill-solid", "rc-fill-hatch", "rc-fill-cross", "rc-fill-dots"]
    # The patterns the stylesheet points at exist in this chart.
    for name in ("hatch", "cross", "dots"):
        assert f'id="chart-aging-{name}"' in svg
    assert "(66 in all)" in svg


def test_aging_bars_skip_the_rectangle_of_an_empty_bucket():
    svg = aging_bars_svg([AgingBucket("0–7 days", 0, 0), AgingBucket("8–14 days", 1, 2)])
    assert svg.count('class="rc-bar ') == 1
    assert "0 units" in svg


def test_lead_time_bars_show_promised_and_measured_and_escape_names():
    svg = lead_time_bars_svg(
        [("Northwind", 7.0, 9.25), ("Birch & <Sons>", 14.0, None), ("A" * 40, 3, 2.5)]
    )
    _assert_csp_clean(svg)
    assert "7.0 d promised" in svg
    assert "9.2 d measured" in svg or "9.3 d measured" in svg
    assert "no deliveries measured" in svg
    assert "Birch &amp; &lt;Sons&gt;" in svg
    assert "<Sons>" not in svg
    # Long names are shortened on the axis but kept whole in the tooltip.
    assert ("A" * 23 + "…") in svg
    assert f"<title>{'A' * 40}</title>" in svg
    assert "Promised (mean of supply terms)" in svg
    assert "Measured (PO sent → first delivery)" in svg


def test_lead_time_bars_without_suppliers_is_a_note():
    assert "No suppliers with supply terms yet." in lead_time_bars_svg([])


# --- the page ------------------------------------------------------------------------------


def _days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _row(level):
    return next(r for r in reorder_suggestions(include_all=True) if r.level_id == level.pk)


def _follow_messages(client, response) -> list[str]:
    return [str(m) for m in client.get(response["Location"]).context["messages"]]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_warehouse_staff_get_403_and_change_nothing(client, shop, staff_user):
    client.force_login(staff_user)
    assert client.get(reverse(DASHBOARD)).status_code == 403
    before = table_counts()
    level = shop["widget_main"]
    assert client.post(reverse(DRAFT), {"levels": [level.pk]}).status_code == 403
    assert client.post(reverse(APPLY), {"levels": [level.pk]}).status_code == 403
    assert table_counts() == before
    level.refresh_from_db()
    assert level.safety_stock == 0
    assert not SafetyStockChange.objects.exists()


def test_manager_sees_suggestions_grouped_by_supplier_with_their_working(
    client, shop, manager_user
):
    client.force_login(manager_user)
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    html = response.content.decode()
    widget = _row(shop["widget_main"])
    assert widget.suggested_qty > 0

    # One group header per supplier, Northwind first and the product without a supplier last.
    groups = re.findall(r'data-testid="supplier-group">\s*([^<]+?)\s*<', html)
    assert groups == ["Northwind Supply", "No supplier"]
    assert "no preferred supplier: set up supply terms" in html

    row = re.search(rf'<tr[^>]*data-level="{widget.level_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, "the WIDGET-1 at MAIN row is on the page"
    cells = row.group(1)
    assert "WIDGET-1" in cells
    assert "urgent" in cells  # backorders are waiting
    assert re.search(rf'<strong title="[^"]+">{widget.suggested_qty:,}</strong>', cells)
    assert "12 / 24" in cells  # pack / minimum
    assert "2.50" in cells
    assert f"{widget.line_value:,.2f}" in cells
    # Every number explainable: the formula and its inputs on hover and in the expandable row.
    assert "SS = z × σd × √L" in cells
    # The safety stock set beside the suggestion, with the difference.
    difference = widget.suggested_safety_stock - widget.safety_stock
    assert f'ss-difference">({difference:+,})</span>' in cells
    explain = re.search(
        rf'<tr class="reorder-explain collapse" id="explain-{widget.level_id}">(.*?)</table>',
        html,
        re.S,
    ).group(1)
    for text in (
        "Daily demand",
        f"d = {widget.d:,.2f}, σd = {widget.sigma_d:,.2f}",
        "promised by Northwind Supply",
        "L = 10 days",
        "95 % (default)",
        f"z = {widget.z:.3f}",
        "SS = z × σd × √L",
        "DL = ⌈d × L⌉",
        f"DL = {widget.lead_demand:,}",
        "ROP = DL + SS (the safety stock set on the level)",
        f"{widget.lead_demand:,} + {widget.safety_stock:,}",
        f"ROP = {widget.rop:,}",
        "packs of 12, at least 24",
    ):
        assert text in explain, text
    assert f'data-bs-target="#explain-{widget.level_id}"' in html

    gadget = _row(shop["gadget_main"])
    assert "no supplier" in html
    assert f'data-level="{gadget.level_id}"' in html


def test_kpis_are_shown_with_their_definitions(client, shop, manager_user):
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    # WIDGET-1 at MAIN: 10 on the shelf against 25 ordered, so 15 units wait on some lines.
    lines = OrderLine.objects.filter(quantity_backordered__gt=0)
    units = sum(line.quantity_backordered for line in lines)
    value = re.search(r'data-testid="kpi-backorder-lines-value">([^<]+)<', html).group(1)
    assert value == f"{lines.count():,}"
    value = re.search(r'data-testid="kpi-backorder-units-value">([^<]+)<', html).group(1)
    assert value == f"{units:,}"
    for key in (
        "backorder-lines",
        "backorder-units",
        "backorder-value",
        "aging",
        "fill-rate",
        "below-safety",
        "stockouts",
        "on-time",
    ):
        card = re.search(
            rf'<div class="card kpi-card h-100" title="([^"]+)" data-testid="kpi-{key}"', html
        )
        assert card, key
        # The same definition is readable without hovering, behind the "?".
        assert f"<p>{card.group(1)}</p>" in html
    assert html.count('<span class="kpi-q" aria-hidden="true">?</span>') == 8


def test_kpis_count_the_whole_catalogue_whatever_the_filters(client, shop, manager_user):
    # The stockouts and the backorder's value come out of the same pass as the suggestions,
    # which the filters narrow; the KPIs must not narrow with them.
    kpis = reorder_kpis()
    assert kpis["stockouts"] == 3  # WIDGET-1 at MAIN and EAST, GADGET-2 at MAIN: all promised
    assert kpis["backorder_value"] == Decimal("37.50")  # 15 waiting × 2.50
    client.force_login(manager_user)
    for query in ("", f"?warehouse={shop['east'].pk}", "?urgent=on", "?warehouse=abc", "?page=2"):
        html = client.get(reverse(DASHBOARD) + query).content.decode()
        stockouts = re.search(r'data-testid="kpi-stockouts-value">([^<]+)<', html).group(1)
        value = re.search(r'data-testid="kpi-backorder-value-value">([^<]+)<', html).group(1)
        assert (stockouts, value) == ("3", "37.50"), query


def test_on_order_names_the_open_purchase_orders(client, shop, manager_user, staff_user):
    po = sent_po(shop["northwind"], shop["main"], [(shop["widget"], 3)], by=staff_user)
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    row = re.search(
        rf'<tr[^>]*data-level="{shop["widget_main"].pk}"[^>]*>(.*?)</tr>', html, re.S
    ).group(1)
    due = po.expected_date
    assert f'title="On open purchase orders: {po.number}: 3 due {due:%d %b}">3</span>' in row
    assert f'<div class="small text-body-secondary">{po.number}</div>' in row


def test_charts_are_on_the_page_inline(client, shop, manager_user):
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    for chart_id in ("chart-backorders", "chart-aging", "chart-lead-times"):
        assert f'id="{chart_id}"' in html
    assert "Northwind Supply" in re.search(
        r'<svg[^>]*id="chart-lead-times".*?</svg>', html, re.S
    ).group(0)
    assert "reorder.css" in html
    assert "reorder.js" in html


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("warehouse={east}", ["widget_east"], ["widget_main", "gadget_main"]),
        ("supplier={northwind}", ["widget_main", "widget_east"], ["gadget_main"]),
        ("urgent=on", ["widget_main"], ["gadget_main", "widget_east"]),
    ],
)
def test_filters_narrow_the_suggestions(client, shop, manager_user, query, present, absent):
    client.force_login(manager_user)
    query = query.format(east=shop["east"].pk, northwind=shop["northwind"].pk)
    html = client.get(f"{reverse(DASHBOARD)}?{query}").content.decode()
    for key in present:
        assert f'data-level="{shop[key].pk}"' in html, key
    for key in absent:
        assert f'data-level="{shop[key].pk}"' not in html, key


def test_eoq_is_shown_with_its_inputs_when_the_costs_are_known(
    client, shop, manager_user, settings
):
    settings.BACKSTOCK_HOLDING_COST_RATE = 0.25
    shop["northwind"].ordering_cost = Decimal("40.00")
    shop["northwind"].save(update_fields=["ordering_cost"])
    widget = _row(shop["widget_main"])
    assert widget.eoq is not None
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    explain = re.search(rf'id="explain-{widget.level_id}">(.*?)</table>', html, re.S).group(1)
    assert "EOQ = √(2 D S / H)" in explain
    assert "H = 2.50 × 0.25 = 0.62" in explain or "H = 2.50 × 0.25 = 0.63" in explain
    assert f"EOQ = {widget.eoq:,.2f} → {widget.eoq_units:,}" in explain
    # Without the supplier's ordering cost (and no default) there is no EOQ to show.
    gadget_row = re.search(
        rf'<tr[^>]*data-level="{shop["gadget_main"].pk}"[^>]*>(.*?)</tr>', html, re.S
    ).group(1)
    assert "Needs the supplier&#x27;s ordering cost" in gadget_row


def test_a_level_with_a_manual_reorder_point_is_shown_marked_manual(client, shop, manager_user):
    level = shop["widget_east"]
    level.reorder_point = 500
    level.save(update_fields=["reorder_point"])
    plan_refresh_all()
    client.force_login(manager_user)

    response = client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    row = re.search(
        rf'<tr[^>]*data-level="{level.pk}"[^>]*>(.*?)</tr>', response.content.decode(), re.S
    )
    assert row is not None
    assert '>500</span> <span class="badge text-bg-secondary">manual</span>' in row.group(1)


def test_a_long_list_is_paged_and_each_page_starts_with_its_supplier(
    client, shop, manager_user, monkeypatch
):
    from planning.views import ReorderDashboardView

    monkeypatch.setattr(ReorderDashboardView, "per_page", 1)
    client.force_login(manager_user)
    first = client.get(reverse(DASHBOARD)).content.decode()
    second = client.get(f"{reverse(DASHBOARD)}?page=2").content.decode()
    for html in (first, second):
        assert html.count('form="reorder-selection" aria-label="Select ') == 1
        # The group header repeats on every page, with the totals of the whole group.
        assert re.search(
            r'data-testid="supplier-group">\s*Northwind Supply\s*<span class="group-meta">'
            r"· 2 suggestions, 1 urgent",
            html,
        )
    assert "?page=2" in first


@pytest.mark.parametrize("query", ["warehouse=abc", "supplier=99999999", "warehouse=1e99"])
def test_a_bad_filter_is_a_form_error_not_a_server_error(client, shop, manager_user, query):
    client.force_login(manager_user)
    response = client.get(f"{reverse(DASHBOARD)}?{query}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose one of the listed" in html
    assert 'data-level="' not in html


@pytest.mark.parametrize("query", ["page=abc", "page=9999", "page=-1", "page=1e9", "urgent=maybe"])
def test_odd_paging_and_flags_still_show_the_page(client, shop, manager_user, query):
    client.force_login(manager_user)
    response = client.get(f"{reverse(DASHBOARD)}?{query}")
    assert response.status_code == 200
    assert f'data-level="{shop["widget_main"].pk}"' in response.content.decode()


def test_csv_of_a_bad_filter_is_only_the_header(client, shop, manager_user):
    client.force_login(manager_user)
    response = client.get(f"{reverse(DASHBOARD)}?warehouse=zz&_export=csv")
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 1


# --- create draft purchase orders --------------------------------------------------------------


def test_draft_purchase_orders_from_the_ticked_rows_then_not_twice(client, shop, manager_user):
    client.force_login(manager_user)
    widget = _row(shop["widget_main"])
    next_url = f"{reverse(DASHBOARD)}?supplier={shop['northwind'].pk}"
    response = client.post(reverse(DRAFT), {"levels": [widget.level_id], "next": next_url})

    po = PurchaseOrder.objects.get()
    assert po.status == PurchaseOrderStatus.DRAFT
    assert (po.supplier, po.warehouse) == (shop["northwind"], shop["main"])
    line = PurchaseOrderLine.objects.get(purchase_order=po)
    assert (line.product, line.quantity_ordered, line.unit_cost) == (
        shop["widget"],
        widget.suggested_qty,
        Decimal("2.50"),
    )
    # Opened for review.
    assert response.status_code == 302
    assert response["Location"] == po.get_absolute_url()
    messages = _follow_messages(client, response)
    assert any(
        f'<a href="{po.get_absolute_url()}">{po.number}</a> (Northwind Supply, MAIN, 1 line)' in m
        for m in messages
    ), messages

    # The same suggestion again: nothing new, and the page says why; back to the filtered page.
    response = client.post(reverse(DRAFT), {"levels": [widget.level_id], "next": next_url})
    assert PurchaseOrder.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 1
    assert response["Location"] == next_url
    text = " ".join(_follow_messages(client, response))
    assert "WIDGET-1" in text or po.number in text


def test_draft_purchase_orders_skip_a_row_without_supplier_with_the_reason(
    client, shop, manager_user
):
    client.force_login(manager_user)
    response = client.post(reverse(DRAFT), {"levels": [shop["gadget_main"].pk]})
    assert not PurchaseOrder.objects.exists()
    assert response["Location"] == reverse(DASHBOARD)
    assert _follow_messages(client, response) == [
        "Skipped 1: GADGET-2 @ MAIN: no supplier to order from."
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Tick at least one suggestion first."),
        ({"levels": ""}, "The selection was not understood"),
        ({"levels": "abc"}, "The selection was not understood"),
        ({"levels": ["1", "-4"]}, "The selection was not understood"),
        ({"levels": "9" * 40}, "The selection was not understood"),
    ],
)
@pytest.mark.parametrize("action", [DRAFT, APPLY])
def test_actions_refuse_bad_selections_with_a_message_and_change_nothing(
    client, shop, manager_user, action, data, message
):
    client.force_login(manager_user)
    before = (table_counts(), list(StockLevel.objects.values_list("pk", "safety_stock")))
    response = client.post(reverse(action), data)
    assert response.status_code == 302
    assert response["Location"] == reverse(DASHBOARD)
    assert any(message in m for m in _follow_messages(client, response))
    after = (table_counts(), list(StockLevel.objects.values_list("pk", "safety_stock")))
    assert after == before
    assert not SafetyStockChange.objects.exists()


@pytest.mark.parametrize("action", [DRAFT, APPLY])
def test_actions_on_unknown_rows_say_so_and_change_nothing(client, shop, manager_user, action):
    client.force_login(manager_user)
    before = (table_counts(), list(StockLevel.objects.values_list("pk", "safety_stock")))
    response = client.post(reverse(action), {"levels": ["987654"]})
    assert response.status_code == 302
    assert response["Location"] == reverse(DASHBOARD)
    assert _follow_messages(client, response), "the user is told what happened"
    after = (table_counts(), list(StockLevel.objects.values_list("pk", "safety_stock")))
    assert after == before
    assert not SafetyStockChange.objects.exists()


@pytest.mark.parametrize("action", [DRAFT, APPLY])
def test_actions_on_get_go_back_to_the_dashboard(client, manager_user, action):
    client.force_login(manager_user)
    response = client.get(reverse(action))
    assert response.status_code == 302
    assert response["Location"] == reverse(DASHBOARD)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/stock/"])
def test_actions_return_only_to_the_dashboard(client, shop, manager_user, next_url):
    client.force_login(manager_user)
    response = client.post(reverse(APPLY), {"levels": [], "next": next_url})
    assert response["Location"] == reverse(DASHBOARD)


# --- apply suggested safety stock -------------------------------------------------------------


def test_apply_suggested_safety_stock_for_one_row_is_recorded_as_the_managers_change(
    client, shop, manager_user
):
    client.force_login(manager_user)
    widget = _row(shop["widget_main"])
    assert widget.suggested_safety_stock > 0
    response = client.post(
        reverse(APPLY), {"levels": [widget.level_id], "next": f"{reverse(DASHBOARD)}?urgent=on"}
    )
    assert response["Location"] == f"{reverse(DASHBOARD)}?urgent=on"
    level = StockLevel.objects.get(pk=widget.level_id)
    assert level.safety_stock == widget.suggested_safety_stock
    change = SafetyStockChange.objects.get()
    assert (change.level_id, change.old_value, change.new_value, change.changed_by) == (
        widget.level_id,
        0,
        widget.suggested_safety_stock,
        manager_user,
    )
    assert change.reason.startswith("Applied suggestion")
    text = " ".join(_follow_messages(client, response))
    assert f"WIDGET-1 at MAIN 0 → {widget.suggested_safety_stock}" in text
    # The other levels are untouched.
    assert StockLevel.objects.exclude(pk=widget.level_id).filter(safety_stock__gt=0).count() == 0

    # Applying again changes nothing and says so.
    response = client.post(reverse(APPLY), {"levels": [widget.level_id]})
    assert SafetyStockChange.objects.count() == 1
    assert "already matches" in " ".join(_follow_messages(client, response))


def test_apply_suggested_safety_stock_for_the_selection(client, shop, manager_user):
    client.force_login(manager_user)
    chosen = [shop["widget_main"], shop["widget_east"], shop["gadget_main"]]
    suggested = {level.pk: _row(level).suggested_safety_stock for level in chosen}
    client.post(reverse(APPLY), {"levels": [level.pk for level in chosen]})
    assert (
        dict(StockLevel.objects.filter(pk__in=suggested).values_list("pk", "safety_stock"))
        == suggested
    )


def test_the_page_offers_a_per_row_apply_button_only_where_it_changes_something(
    client, shop, manager_user
):
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    widget = _row(shop["widget_main"])
    assert re.search(
        rf'<button type="submit" form="reorder-apply-one" name="levels" value="{widget.level_id}"',
        html,
    )
    StockLevel.objects.filter(pk=widget.level_id).update(safety_stock=widget.suggested_safety_stock)
    html = client.get(reverse(DASHBOARD)).content.decode()
    assert f'form="reorder-apply-one" name="levels" value="{widget.level_id}"' not in html


# --- CSV --------------------------------------------------------------------------------------


def test_csv_export_streams_the_filtered_suggestions(client, shop, manager_user):
    client.force_login(manager_user)
    response = client.get(f"{reverse(DASHBOARD)}?supplier={shop['northwind'].pk}&_export=csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="reorder-')
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    expected = reorder_suggestions(supplier_id=shop["northwind"].pk)
    assert [(r["sku"], r["warehouse"]) for r in rows] == [
        (row.sku, row.warehouse_code) for row in expected
    ]
    widget = next(r for r in rows if r["warehouse"] == "MAIN")
    row = _row(shop["widget_main"])
    assert widget["supplier"] == "Northwind Supply"
    assert int(widget["suggested_qty"]) == row.suggested_qty
    assert int(widget["suggested_safety_stock"]) == row.suggested_safety_stock
    assert widget["safety_stock_formula"] == "z × σd × √L"
    assert widget["unit_cost"] == "2.50"
    assert Decimal(widget["line_value"]) == row.line_value
    assert widget["urgent"] == "yes"
    assert (widget["pack_size"], widget["min_order_qty"]) == ("12", "24")


def test_csv_export_has_only_the_header_when_nothing_matches(client, shop, manager_user):
    client.force_login(manager_user)
    other = SupplierFactory(name="Nobody's Supplier")
    response = client.get(f"{reverse(DASHBOARD)}?supplier={other.pk}&_export=csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("supplier,sku,product,warehouse")


# --- query count ------------------------------------------------------------------------------


def _shop_of(count: int, *, by, code: str = "QC"):
    """`count` products, each bought from one of two suppliers, short at one warehouse."""
    warehouse = WarehouseFactory(code=code)
    suppliers = [
        SupplierFactory(name=f"Alpha Parts {code}"),
        SupplierFactory(name=f"Beta Goods {code}"),
    ]
    customer = CustomerFactory()
    for index in range(count):
        product = ProductFactory()
        SupplierProductFactory(
            supplier=suppliers[index % 2], product=product, is_preferred=True, pack_size=5
        )
        give_stock(product, warehouse, 2, by=by)
        place(customer, warehouse, [(product, 3 + index % 4)], by=by, placed_at=_days_ago(2))


def _dashboard_queries(client) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    return len(queries), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("count", [3, 25])
def test_dashboard_queries_do_not_grow_with_the_rows(
    client, staff_user, manager_user, count, django_assert_num_queries
):
    _shop_of(count, by=staff_user)
    client.force_login(manager_user)
    html = client.get(reverse(DASHBOARD)).content.decode()
    assert html.count('form="reorder-selection" aria-label="Select ') == count
    # 1-2   session, user
    # 3-4   the user's permissions: direct, then through groups (cached for the request)
    # 5     is the stored plan current (for today and the settings)?
    # 6     the screen: the page's rows with their inputs, the list's and the groups' totals, and
    #       the catalogue's stockouts and backorder value for the KPIs, in one pass over the plan
    # 7-8   the promised and measured lead times of the page's suppliers (also the chart's)
    # 9     draft and open purchase order lines behind "on order" and "already ordered"
    # 10    KPIs: backorder lines and aging, fill rate, below safety stock, on-time rate
    # 11    backordered units history: the day's changes (today's backlog comes from the KPIs)
    # 12    filter choices: warehouses
    with django_assert_num_queries(DASHBOARD_QUERIES):
        client.get(reverse(DASHBOARD))


DASHBOARD_QUERIES = 12


def _csv_queries(client, query: str = "") -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{reverse(DASHBOARD)}?_export=csv{query}")
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.status_code == 200
    return len(queries), rows


@pytest.mark.parametrize("query", ["", "&urgent=on"])
def test_csv_queries_are_the_same_for_two_rows_and_for_many(
    client, staff_user, manager_user, query, monkeypatch
):
    # Pieces of the file and fetches of the streamed query smaller than the rows, so a query per
    # chunk of rows would show.
    monkeypatch.setattr("planning.selectors.screen.STREAM_CHUNK", 3)
    monkeypatch.setattr("common.exports.CSV_PIECE_ROWS", 2)
    _shop_of(2, by=staff_user)
    client.force_login(manager_user)
    plan_refresh_all()
    few, few_rows = _csv_queries(client, query)
    _shop_of(40, by=staff_user, code="QC2")
    plan_refresh_all()
    many, many_rows = _csv_queries(client, query)

    assert (len(few_rows), len(many_rows)) == (2, 42)
    assert few == many


def test_csv_queries_itemised(client, staff_user, manager_user, django_assert_num_queries):
    _shop_of(30, by=staff_user)
    client.force_login(manager_user)
    plan_refresh_all()  # as every day's first read (or the nightly plan_refresh) does
    # 1-2   session, user
    # 3-4   the user's permissions: direct, then through groups
    # 5-6   every supplier's promised and measured lead times
    # 7     is the stored plan current (for today and the settings)?
    # 8     the screen: every suggested row's inputs in order, streamed
    with django_assert_num_queries(8):
        response = client.get(f"{reverse(DASHBOARD)}?_export=csv")
        lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 31


def test_every_kind_of_row_renders_on_the_page_and_in_the_csv(
    client, manager_user, staff_user, settings
):
    """One level of each kind the dashboard can list, on one page and in the CSV: bought from
    the preferred supplier with an EOQ, from a supplier not marked preferred, without a supplier,
    with a manual reorder point, with a service level of its own, covered by a draft order."""
    settings.BACKSTOCK_HOLDING_COST_RATE = 0.25
    warehouse = WarehouseFactory(code="ALL")
    customer = CustomerFactory()
    preferred_supplier = SupplierFactory(name="Preferred Co", ordering_cost=Decimal("30.00"))
    other_supplier = SupplierFactory(name="Other Co")
    kinds = {}

    def product_sold(sku: str, quantity: int):
        product = ProductFactory(sku=sku)
        place(customer, warehouse, [(product, quantity)], by=staff_user, placed_at=_days_ago(3))
        return product

    kinds["preferred"] = product_sold("PREF", 9)
    SupplierProductFactory(
        supplier=preferred_supplier, product=kinds["preferred"], is_preferred=True
    )
    kinds["not_preferred"] = product_sold("NOTPREF", 9)
    SupplierProductFactory(supplier=other_supplier, product=kinds["not_preferred"])
    kinds["no_supplier"] = product_sold("NOSUP", 9)
    kinds["manual"] = product_sold("MANUAL", 2)
    SupplierProductFactory(supplier=other_supplier, product=kinds["manual"], is_preferred=True)
    give_stock(kinds["manual"], warehouse, 50, by=staff_user)
    level = level_for(kinds["manual"], warehouse)
    level.reorder_point = 60
    level.save(update_fields=["reorder_point"])
    kinds["own_level"] = product_sold("OWNSL", 9)
    kinds["own_level"].service_level = Decimal("0.99")
    kinds["own_level"].save()
    SupplierProductFactory(supplier=other_supplier, product=kinds["own_level"], is_preferred=True)
    kinds["covered"] = product_sold("COVERED", 9)
    SupplierProductFactory(supplier=other_supplier, product=kinds["covered"], is_preferred=True)
    draft = PurchaseOrderFactory(
        supplier=other_supplier, warehouse=warehouse, status=PurchaseOrderStatus.DRAFT
    )
    PurchaseOrderLineFactory(purchase_order=draft, product=kinds["covered"], quantity_ordered=5)
    plan_refresh_all()
    client.force_login(manager_user)

    response = client.get(reverse(DASHBOARD))

    assert response.status_code == 200
    html = response.content.decode()
    for name, product in kinds.items():
        level = level_for(product, warehouse)
        row = re.search(rf'<tr[^>]*data-level="{level.pk}"[^>]*>(.*?)</tr>', html, re.S)
        assert row is not None, name
        assert product.sku in row.group(1), name
    csv_response = client.get(f"{reverse(DASHBOARD)}?_export=csv")
    exported = b"".join(csv_response.streaming_content).decode()
    for product in kinds.values():
        assert product.sku in exported
    assert 'class="badge text-bg-secondary">manual</span>' in html
    assert "covered-mark" in html
    assert "eoq-inputs" in html
    assert "supplier not marked preferred" in html
