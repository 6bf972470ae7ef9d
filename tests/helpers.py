"""Helpers shared by the test modules: services, selectors, pages, the admin and invariants.

Stock is only ever given through the services (so the ledger agrees), and the invariants are
checked with plain ORM aggregates, independent of the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.forms import CheckboxInput
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import StockLevel, StockMovement
from inventory.services import stock_adjust
from orders.models import OrderLine, Priority
from orders.services import order_place
from suppliers.services import purchase_order_create, purchase_order_send
from tests.factories import StockLevelFactory


def level_for(product, warehouse) -> StockLevel:
    """The product × warehouse level, created empty when missing."""
    level = StockLevel.objects.filter(product=product, warehouse=warehouse).first()
    return level or StockLevelFactory(product=product, warehouse=warehouse)


def give_stock(product, warehouse, quantity: int, *, by, reason: str = "Opening stock"):
    """Put stock on the shelf through stock_adjust, so on_hand and the ledger agree."""
    level = level_for(product, warehouse)
    stock_adjust(level_id=level.pk, delta=quantity, reason=reason, by=by)
    level.refresh_from_db()
    return level


def today() -> dt.date:
    return timezone.localdate()


def place(
    customer,
    warehouse,
    lines,
    *,
    by,
    priority=Priority.NORMAL,
    placed_at=None,
    days_ago: int = 0,
    ref: str = "",
):
    """Place an order for [(product, quantity), ...], `days_ago` days back unless `placed_at`.

    `ref` is the customer's own reference for the order.
    """
    if placed_at is None and days_ago:
        placed_at = timezone.now() - dt.timedelta(days=days_ago)
    return order_place(
        customer_id=customer.pk,
        warehouse_id=warehouse.pk,
        lines=[(product.pk, quantity) for product, quantity in lines],
        by=by,
        priority=priority,
        customer_reference=ref,
        placed_at=placed_at,
    )


def sent_po(supplier, warehouse, lines, *, by, expected_date: dt.date | None = None):
    """A sent purchase order for [(product, quantity), ...] with an explicit unit cost."""
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=expected_date or timezone.localdate() + dt.timedelta(days=7),
        lines=[(product.pk, quantity, "2.00") for product, quantity in lines],
        by=by,
    )
    return purchase_order_send(purchase_order_id=po.pk, by=by)


def line_of(order, product) -> OrderLine:
    return OrderLine.objects.get(order=order, product=product)


def error_codes(excinfo) -> set[str]:
    """Every code carried by a raised ValidationError (single, list or dict form)."""
    error: ValidationError = excinfo.value
    return {e.code for e in error.error_list} if hasattr(error, "error_list") else {error.code}


def error_text(excinfo) -> str:
    return " ".join(excinfo.value.messages)


def count_queries(func: Callable[[], object]) -> tuple[int, object]:
    """The number of queries `func()` runs, and what it returned."""
    with CaptureQueriesContext(connection) as queries:
        result = func()
    return len(queries.captured_queries), result


def free_not_owed(product, warehouse) -> int:
    """Rule 3's max(0, available − backordered), read with plain ORM aggregates."""
    level = StockLevel.objects.filter(product=product, warehouse=warehouse).first()
    available = level.on_hand - level.allocated if level else 0
    owed = (
        OrderLine.objects.filter(
            product=product, order__warehouse=warehouse, quantity_backordered__gt=0
        ).aggregate(total=Sum("quantity_backordered"))["total"]
        or 0
    )
    return max(0, available - owed)


def table_counts() -> dict[str, int]:
    """Row counts of every table a stock write touches, to prove a refused write wrote nothing."""
    from orders.models import Allocation, Release, SalesOrder
    from suppliers.models import PurchaseOrder, PurchaseOrderLine, Shipment, ShipmentLine

    models = [
        StockLevel,
        StockMovement,
        SalesOrder,
        OrderLine,
        Allocation,
        Release,
        PurchaseOrder,
        PurchaseOrderLine,
        Shipment,
        ShipmentLine,
    ]
    return {model.__name__: model.objects.count() for model in models}


def stock_snapshot() -> list[tuple]:
    """Quantities of every level and line, to prove nothing changed."""
    return [
        *StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "allocated"),
        *OrderLine.objects.order_by("pk").values_list(
            "pk", "quantity_allocated", "quantity_shipped", "quantity_cancelled"
        ),
    ]


def invariants_check(*, product_ids: Iterable[int] | None = None) -> None:
    """Assert DESIGN.md rules 1 and 2 over the levels and lines (optionally of some products).

    Rule 1: on_hand equals the sum of the level's movements, and each movement's balance_after is
    the running sum of the ledger up to it. Rule 2: 0 ≤ allocated ≤ on_hand; allocated + shipped +
    cancelled ≤ ordered; a level's allocated is the sum of its open lines' allocations; a line's
    allocated is the sum of its Allocation history rows.
    """
    levels = StockLevel.objects.all()
    lines = OrderLine.objects.all()
    movements = StockMovement.objects.all()
    if product_ids is not None:
        ids = list(product_ids)
        levels = levels.filter(product_id__in=ids)
        lines = lines.filter(product_id__in=ids)
        movements = movements.filter(level__product_id__in=ids)

    line_allocations = (
        OrderLine.objects.filter(
            product_id=OuterRef("product_id"), order__warehouse_id=OuterRef("warehouse_id")
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity_allocated"))
        .values("total")
    )
    rows = levels.annotate(
        ledger=Coalesce(Sum("movements__quantity"), Value(0)),
    ).values_list("pk", "on_hand", "allocated", "ledger")
    for pk, on_hand, allocated, ledger in rows:
        assert on_hand == ledger, f"level {pk}: on_hand {on_hand} != ledger sum {ledger}"
        assert 0 <= allocated <= on_hand, f"level {pk}: allocated {allocated}, on_hand {on_hand}"
    mismatched = levels.annotate(
        lines_allocated=Coalesce(Subquery(line_allocations, output_field=IntegerField()), Value(0))
    ).exclude(allocated=F("lines_allocated"))
    assert not mismatched.exists(), [
        (level.pk, level.allocated, level.lines_allocated) for level in mismatched
    ]

    running: dict[int, int] = {}
    for pk, level_id, quantity, balance_after in movements.order_by("pk").values_list(
        "pk", "level_id", "quantity", "balance_after"
    ):
        running[level_id] = running.get(level_id, 0) + quantity
        assert balance_after == running[level_id], (
            f"movement {pk}: balance_after {balance_after} != running sum {running[level_id]}"
        )

    overdrawn = lines.filter(
        Q(quantity_allocated__lt=0)
        | Q(
            quantity_ordered__lt=F("quantity_allocated")
            + F("quantity_shipped")
            + F("quantity_cancelled")
        )
    )
    assert not overdrawn.exists(), list(overdrawn.values())
    history_mismatch = lines.annotate(
        history=Coalesce(Sum("allocations__quantity"), Value(0))
    ).exclude(quantity_allocated=F("history"))
    assert not history_mismatch.exists(), [
        (line.pk, line.quantity_allocated, line.history) for line in history_mismatch
    ]


# --- pages and the admin --------------------------------------------------------------------------


def page_text(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    """The rows of a streamed CSV export."""
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def admin_url(model, view, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def post_data_from(response) -> dict:
    """The POST a browser would send back for an admin change page as loaded, inlines included."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(field.widget, CheckboxInput):
                if value:
                    data[form.add_prefix(name)] = "on"
            elif value is not None:
                data[form.add_prefix(name)] = value
    data["_save"] = "Save"
    return data
