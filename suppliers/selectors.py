"""Reads about suppliers and inbound stock: on order, expected deliveries, open supply."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from common.numbers import document_number
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)

# Outstanding on a line; a tolerated over-receipt leaves nothing outstanding, never a negative.
OUTSTANDING = Greatest(F("quantity_ordered") - F("quantity_received"), Value(0))


def open_po_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines of sent or partially received purchase orders that still expect stock."""
    return PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_PO_STATUSES, quantity_ordered__gt=F("quantity_received")
    )


def on_order_subquery(
    *, product_ref: str = "product_id", warehouse_ref: str = "warehouse_id"
) -> Coalesce:
    """Annotation: units on order for the outer row's product × warehouse (0 when none)."""
    total = (
        open_po_lines()
        .filter(
            product_id=OuterRef(product_ref), purchase_order__warehouse_id=OuterRef(warehouse_ref)
        )
        .order_by()
        .values("product_id")
        .annotate(total=Sum(OUTSTANDING))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def on_order_by_product(*, warehouse_id: int, product_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        open_po_lines()
        .filter(purchase_order__warehouse_id=warehouse_id, product_id__in=list(product_ids))
        .values("product_id")
        .annotate(total=Sum(OUTSTANDING))
    )
    return {row["product_id"]: row["total"] for row in rows}


def open_supply(
    *, product_ids: Iterable[int], warehouse_ids: Iterable[int]
) -> dict[tuple[int, int], list[tuple[dt.date, int, str]]]:
    """Open purchase order lines per product × warehouse as (expected date, outstanding, PO number),
    earliest first — the supply an ETA walks through."""
    rows = (
        open_po_lines()
        .filter(
            product_id__in=list(product_ids), purchase_order__warehouse_id__in=list(warehouse_ids)
        )
        .annotate(outstanding=OUTSTANDING)
        .order_by("purchase_order__expected_date", "purchase_order_id", "id")
        .values_list(
            "product_id",
            "purchase_order__warehouse_id",
            "purchase_order__expected_date",
            "outstanding",
            "purchase_order_id",
        )
    )
    supply: dict[tuple[int, int], list[tuple[dt.date, int, str]]] = defaultdict(list)
    for product_id, warehouse_id, expected, outstanding, po_id in rows:
        supply[(product_id, warehouse_id)].append(
            (expected, outstanding, document_number("PO", po_id))
        )
    return supply


@dataclass(frozen=True)
class PendingPurchase:
    """A line of a draft, sent or partially received purchase order for one product × warehouse."""

    supplier_id: int
    purchase_order_id: int
    status: str
    expected_date: dt.date
    outstanding: int

    @property
    def number(self) -> str:
        return document_number("PO", self.purchase_order_id)

    @property
    def is_draft(self) -> bool:
        return self.status == PurchaseOrderStatus.DRAFT


def pending_purchases(
    *, product_ids: Iterable[int], warehouse_ids: Iterable[int]
) -> dict[tuple[int, int], list[PendingPurchase]]:
    """Lines of draft, sent and partially received purchase orders per product × warehouse,
    earliest expected first (one query): what is on order, and what a new draft would repeat."""

    rows = (
        PurchaseOrderLine.objects.filter(
            purchase_order__status__in=(PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES),
            product_id__in=list(product_ids),
            purchase_order__warehouse_id__in=list(warehouse_ids),
        )
        .annotate(outstanding=OUTSTANDING)
        .order_by("purchase_order__expected_date", "purchase_order_id", "id")
        .values_list(
            "product_id",
            "purchase_order__warehouse_id",
            "purchase_order__supplier_id",
            "purchase_order_id",
            "purchase_order__status",
            "purchase_order__expected_date",
            "outstanding",
        )
    )
    pending: dict[tuple[int, int], list[PendingPurchase]] = defaultdict(list)
    for product_id, warehouse_id, *line in rows:
        pending[(product_id, warehouse_id)].append(PendingPurchase(*line))
    return pending


def _line_total(expression, *, lines: QuerySet | None = None) -> Coalesce:
    """Annotation: a total over the outer purchase order's lines (0 without lines).

    A correlated subquery rather than a join and GROUP BY: the list's COUNT(*) then reads the
    orders alone, and PostgreSQL works the totals out only for the page's rows after the LIMIT.
    """
    total = (
        (lines if lines is not None else PurchaseOrderLine.objects.all())
        .filter(purchase_order_id=OuterRef("pk"))
        .order_by()
        .values("purchase_order_id")
        .annotate(total=expression)
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def inbound_purchase_orders(*, today: dt.date | None = None) -> QuerySet[PurchaseOrder]:
    """Purchase orders still expecting stock, earliest expected first, flagged when overdue."""
    today = today or timezone.localdate()
    return (
        PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES)
        .select_related("supplier", "warehouse")
        .annotate(
            line_count=_line_total(Count("pk")),
            units_outstanding=_line_total(Sum(OUTSTANDING)),
            is_overdue=ExpressionWrapper(Q(expected_date__lt=today), output_field=BooleanField()),
            is_due_today=Case(When(expected_date=today, then=Value(True)), default=Value(False)),
        )
        .order_by("expected_date", "id")
    )


def purchase_orders_listed(*, today: dt.date | None = None) -> QuerySet[PurchaseOrder]:
    """Purchase orders, newest first, with their line totals; outstanding counts only on orders
    still open (or drafts), and overdue only on orders still expecting stock."""

    today = today or timezone.localdate()
    unfinished = (PurchaseOrderStatus.DRAFT, *OPEN_PO_STATUSES)
    return (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .annotate(
            line_count=_line_total(Count("pk")),
            units_ordered=_line_total(Sum("quantity_ordered")),
            units_outstanding=Case(
                When(status__in=unfinished, then=_line_total(Sum(OUTSTANDING))),
                default=Value(0),
                output_field=IntegerField(),
            ),
            is_overdue=ExpressionWrapper(
                Q(status__in=OPEN_PO_STATUSES, expected_date__lt=today),
                output_field=BooleanField(),
            ),
        )
        .order_by("-id")
    )


def purchase_order_lines(*, purchase_order_id: int) -> QuerySet[PurchaseOrderLine]:
    """A purchase order's lines with their products, in the order they were entered."""
    return (
        PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id)
        .select_related("product")
        .order_by("id")
    )


def purchase_order_shipments(*, purchase_order_id: int) -> QuerySet[Shipment]:
    """A purchase order's shipments, newest first, with who received them and what arrived on
    each (two queries for any number of shipments)."""
    return (
        Shipment.objects.filter(purchase_order_id=purchase_order_id)
        .select_related("received_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=ShipmentLine.objects.select_related("purchase_order_line__product"),
            )
        )
    )


def shipment_warehouse_id(*, shipment_id) -> int | None:
    """The warehouse a shipment was received into, or None for an unknown shipment."""

    try:
        return Shipment.objects.values_list("purchase_order__warehouse_id", flat=True).get(
            pk=shipment_id
        )
    except (Shipment.DoesNotExist, ValueError, TypeError):
        return None


def shipment_product_ids(*, shipment_id: int) -> list[int]:
    """Products that arrived in a shipment: what a release review right after receiving covers."""

    return sorted(
        set(
            ShipmentLine.objects.filter(shipment_id=shipment_id).values_list(
                "purchase_order_line__product_id", flat=True
            )
        )
    )


# --- suppliers and their terms ------------------------------------------------------------------


def _count_per_supplier(queryset: QuerySet) -> Coalesce:
    """A correlated count per supplier, so two counts on one row do not multiply each other."""
    counted = (
        queryset.filter(supplier=OuterRef("pk"))
        .order_by()
        .values("supplier")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def suppliers_listed() -> QuerySet[Supplier]:
    """Suppliers by name with how many products they supply and how many of their purchase
    orders still expect stock."""
    return Supplier.objects.annotate(
        term_count=_count_per_supplier(SupplierProduct.objects.all()),
        open_po_count=_count_per_supplier(
            PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES)
        ),
    ).order_by("name")


def supplier_terms(*, supplier_id: int) -> QuerySet[SupplierProduct]:
    """A supplier's terms with their products, by SKU."""
    return (
        SupplierProduct.objects.filter(supplier_id=supplier_id)
        .select_related("product")
        .order_by("product__sku")
    )


def product_supply_terms(*, product_id: int) -> QuerySet[SupplierProduct]:
    """A product's terms with their suppliers, the preferred one first, then by supplier name."""
    return (
        SupplierProduct.objects.filter(product_id=product_id)
        .select_related("supplier")
        .order_by("-is_preferred", "supplier__name")
    )


# --- lead times --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadTimeStats:
    """A supplier's promised lead time (the mean of its supply terms) beside the measured one.

    Measured: days from a purchase order being sent to its first shipment being received, over
    every order that has both; on time means that shipment landed on or before the expected date.
    The spread needs two orders (None before that); mean and rates need one.
    """

    supplier_id: int
    supplier_name: str
    promised_days: float | None
    measured_mean: float | None
    measured_stdev: float | None
    on_time_rate: float | None
    samples: int
    on_time: int


def supplier_lead_times(*, supplier_ids: Iterable[int] | None = None) -> dict[int, LeadTimeStats]:
    """Promised and measured lead times per supplier (sent → first shipment received); two
    queries for any number of suppliers and orders."""

    suppliers = Supplier.objects.order_by()
    orders = PurchaseOrder.objects.filter(sent_at__isnull=False).order_by()
    if supplier_ids is not None:
        ids = list(supplier_ids)
        if not ids:
            return {}
        suppliers = suppliers.filter(pk__in=ids)
        orders = orders.filter(supplier_id__in=ids)
    promised = {
        pk: (name, avg)
        for pk, name, avg in suppliers.annotate(avg=Avg("terms__lead_time_days")).values_list(
            "pk", "name", "avg"
        )
    }
    durations: dict[int, list[float]] = defaultdict(list)
    on_time: dict[int, int] = defaultdict(int)
    tz = timezone.get_current_timezone()
    rows = (
        orders.annotate(first_received=Min("shipments__received_at"))
        .filter(first_received__isnull=False)
        .values_list("supplier_id", "sent_at", "first_received", "expected_date")
    )
    for supplier_id, sent_at, received_at, expected in rows:
        # A receipt recorded before the order was marked sent is bad data, not a negative lead time.
        durations[supplier_id].append(max(0.0, (received_at - sent_at).total_seconds() / 86400))
        if timezone.localtime(received_at, tz).date() <= expected:
            on_time[supplier_id] += 1
    stats = {}
    for supplier_id, (name, avg) in promised.items():
        days = durations.get(supplier_id, [])
        stats[supplier_id] = LeadTimeStats(
            supplier_id=supplier_id,
            supplier_name=name,
            promised_days=float(avg) if avg is not None else None,
            measured_mean=statistics.fmean(days) if days else None,
            measured_stdev=statistics.stdev(days) if len(days) >= 2 else None,
            on_time_rate=on_time[supplier_id] / len(days) if days else None,
            samples=len(days),
            on_time=on_time[supplier_id],
        )
    return stats


def supplier_longest_lead_time(*, supplier_id: int, product_ids: Iterable[int]) -> int | None:
    """The longest lead time, in days, the supplier promises for these products; None when it
    has no terms for any of them."""
    return SupplierProduct.objects.filter(
        supplier_id=supplier_id, product_id__in=list(product_ids)
    ).aggregate(days=Max("lead_time_days"))["days"]
