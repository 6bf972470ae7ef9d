"""Draft purchase orders built from lines another app chose (planning's reorder suggestions).

The caller decides what to order and at which quantity; this module owns how that becomes draft
purchase orders: one draft per supplier × warehouse, never a product twice on the orders of one
supplier into one warehouse, new lines joining a draft that already exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from common.cleaning import acting_user
from common.numbers import document_number
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Supplier

from .purchasing import DRAFT_OR_OPEN_STATUSES, MAX_LINES


@dataclass(frozen=True)
class DraftLineInput:
    """One product to order from one supplier into one warehouse."""

    supplier_id: int
    warehouse_id: int
    product_id: int
    quantity: int
    unit_cost: Decimal
    # Days; a measured lead time may be fractional (the expected date takes the whole days).
    lead_time_days: float
    # How messages name the line to people, e.g. "WIDGET-1 @ LON".
    label: str


@dataclass
class DraftsAdded:
    created: list[PurchaseOrder] = field(default_factory=list)
    # Drafts of the same supplier × warehouse that already existed and got the new lines.
    reused: list[PurchaseOrder] = field(default_factory=list)
    # One sentence per line that was not added, saying why.
    skipped: list[str] = field(default_factory=list)


def purchase_order_drafts_add(*, lines: Sequence[DraftLineInput], by, note: str) -> DraftsAdded:
    """Add lines to draft purchase orders, one draft per supplier × warehouse, inside the caller's
    transaction; a product already on a draft, sent or partially received order of that supplier
    into that warehouse is skipped with the reason, so adding the same lines twice adds nothing.

    The suppliers' rows are locked first (then their drafts), so two callers drafting at once
    queue up and the second sees the first one's lines. The expected date of a draft is today
    plus the slowest line's lead time; a reused draft's date only moves later."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("purchase_order_drafts_add must run inside the caller's transaction")
    limit = settings.BACKSTOCK_MAX_QUANTITY
    for line in lines:
        if not 0 < line.quantity <= limit:
            raise ValidationError(
                "%(label)s: %(qty)s is not a quantity that can be ordered.",
                code="bad_quantity",
                params={"label": line.label, "qty": line.quantity},
            )
    result = DraftsAdded()
    if not lines:
        return result

    supplier_ids = sorted({line.supplier_id for line in lines})
    list(Supplier.objects.filter(pk__in=supplier_ids).select_for_update(no_key=True).order_by("pk"))
    already = {
        (product_id, warehouse_id, supplier_id): (po_id, status)
        for product_id, warehouse_id, supplier_id, po_id, status in PurchaseOrderLine.objects.filter(
            purchase_order__status__in=DRAFT_OR_OPEN_STATUSES,
            purchase_order__supplier_id__in=supplier_ids,
            product_id__in={line.product_id for line in lines},
        )
        .order_by("purchase_order_id")
        .values_list(
            "product_id",
            "purchase_order__warehouse_id",
            "purchase_order__supplier_id",
            "purchase_order_id",
            "purchase_order__status",
        )
    }
    groups: dict[tuple[int, int], list[DraftLineInput]] = {}
    for line in lines:
        found = already.get((line.product_id, line.warehouse_id, line.supplier_id))
        if found:
            po_id, status = found
            result.skipped.append(
                f"{line.label}: already on {document_number('PO', po_id)} "
                f"({PurchaseOrderStatus(status).label.lower()})."
            )
            continue
        groups.setdefault((line.supplier_id, line.warehouse_id), []).append(line)
    if not groups:
        return result

    drafts: dict[tuple[int, int], PurchaseOrder] = {}
    for po in (
        PurchaseOrder.objects.filter(
            status=PurchaseOrderStatus.DRAFT,
            supplier_id__in=supplier_ids,
            warehouse_id__in={w for _, w in groups},
        )
        .select_for_update(no_key=True)
        .order_by("pk")
    ):
        # The newest draft of a pair collects the lines (someone may have left an older one).
        drafts[(po.supplier_id, po.warehouse_id)] = po
    line_counts = dict(
        PurchaseOrderLine.objects.filter(purchase_order__in=list(drafts.values()))
        .values("purchase_order_id")
        .annotate(n=Count("id"))
        .values_list("purchase_order_id", "n")
    )
    today = timezone.localdate()
    user = acting_user(by)
    new_lines = []
    for key in sorted(groups):
        pending = groups[key]
        # The slowest line decides when the whole order can be complete.
        expected = today + dt.timedelta(days=max(line.lead_time_days for line in pending))
        draft = drafts.get(key)
        room = MAX_LINES - line_counts.get(draft.pk, 0) if draft else 0
        batches = []
        if room > 0:
            if draft.expected_date < expected:
                draft.expected_date = expected
                draft.save(update_fields=["expected_date"])
            result.reused.append(draft)
            batches.append((draft, pending[:room]))
            pending = pending[room:]
        while pending:
            po = PurchaseOrder.objects.create(
                supplier_id=key[0],
                warehouse_id=key[1],
                expected_date=expected,
                notes=note[:2000],
                created_by=user,
            )
            result.created.append(po)
            batches.append((po, pending[:MAX_LINES]))
            pending = pending[MAX_LINES:]
        new_lines += [
            PurchaseOrderLine(
                purchase_order=po,
                product_id=line.product_id,
                quantity_ordered=line.quantity,
                unit_cost=line.unit_cost,
            )
            for po, batch in batches
            for line in batch
        ]
    PurchaseOrderLine.objects.bulk_create(new_lines)
    return result
