"""Planning's writes: draft purchase orders from suggestions and applying suggested safety stock,
each through the owning app's services."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from common.cleaning import acting_user
from common.numbers import document_number
from common.transactions import write_transaction
from inventory.models import SafetyStockChange, StockLevel
from inventory.services import level_ids_clean, safety_stock_record
from planning.selectors import ReorderRow, suggestions_for
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Supplier
from suppliers.services import MAX_LINES
from suppliers.services.purchasing import DRAFT_OR_OPEN_STATUSES


def suggestion_reason(row: ReorderRow) -> str:
    """The recorded why of an applied safety stock suggestion: the formula and its inputs."""
    ss = row.safety_stock_result
    parts = [
        ss.formula,
        f"z={row.z:.2f}",
        f"σd={row.sigma_d:.2f}",
        f"L={row.lead_time_days:g}",
    ]
    if row.sigma_lead_time:
        parts += [f"d={row.d:.2f}", f"σL={row.sigma_lead_time:.2f}"]
    return f"Applied suggestion ({', '.join(parts)})"[:255]


@write_transaction
def safety_stock_apply_suggested(*, level_ids: Iterable[int], by) -> list[SafetyStockChange]:
    """Set each chosen level's safety stock to its suggested value, recomputed now from demand
    history and lead times, and record each change with who and the formula's inputs."""
    ids = level_ids_clean(level_ids)
    # Same lock as safety_stock_set, taken before the read so two applies queue up.
    locked = set(
        StockLevel.objects.filter(pk__in=ids)
        .select_for_update(no_key=True, of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = {row.level_id: row for row in suggestions_for(level_ids=ids, include_all=True)}
    if set(rows) != set(ids) or locked != set(ids):
        raise ValidationError(
            "Some of the chosen stock levels no longer exist or are for inactive products or "
            "warehouses.",
            code="unknown_level",
        )
    return safety_stock_record(
        values={
            level_id: (row.suggested_safety_stock, suggestion_reason(row))
            for level_id, row in rows.items()
        },
        by=by,
        lock=False,
    )


@dataclass
class DraftResult:
    created: list[PurchaseOrder]
    # Drafts of the same supplier × warehouse that already existed and got the new lines.
    reused: list[PurchaseOrder]
    # One sentence per chosen row that was not ordered, saying why.
    skipped: list[str]


@write_transaction
def purchase_orders_draft_from_suggestions(*, level_ids, by) -> DraftResult:
    """Turn chosen reorder suggestions into draft purchase orders, one per supplier × warehouse,
    at the quantities and unit costs recomputed now (a posted quantity is never trusted).

    Idempotent: a product × warehouse already on a draft, sent or partially received order of
    that supplier is skipped, so running it twice orders nothing the second time. New lines join
    an existing draft of the same supplier × warehouse rather than starting a second one. The
    suppliers' rows are locked first (then their drafts), so two managers drafting at once queue
    up and the second sees the first one's lines."""
    ids = level_ids_clean(level_ids)
    rows = {row.level_id: row for row in suggestions_for(level_ids=ids, include_all=True)}
    skipped = [
        f"Stock level {level_id}: unknown, or its product or warehouse is inactive."
        for level_id in ids
        if level_id not in rows
    ]
    wanted = []
    for row in (rows[i] for i in ids if i in rows):
        label = f"{row.sku} @ {row.warehouse_code}"
        if row.supplier_id is None:
            skipped.append(f"{label}: no supplier to order from.")
        elif row.suggested_qty <= 0:
            skipped.append(
                f"{label}: nothing to order (projected {row.projected} is above the reorder "
                f"point {row.rop:.1f})."
                if row.projected > row.rop
                else f"{label}: nothing to order."
            )
        else:
            wanted.append(row)
    if not wanted:
        return DraftResult(created=[], reused=[], skipped=skipped)

    supplier_ids = sorted({row.supplier_id for row in wanted})
    list(Supplier.objects.filter(pk__in=supplier_ids).select_for_update(no_key=True).order_by("pk"))
    already = {
        (product_id, warehouse_id, supplier_id): (po_id, status)
        for product_id, warehouse_id, supplier_id, po_id, status in PurchaseOrderLine.objects.filter(
            purchase_order__status__in=DRAFT_OR_OPEN_STATUSES,
            purchase_order__supplier_id__in=supplier_ids,
            product_id__in={row.product_id for row in wanted},
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
    groups: dict[tuple[int, int], list] = {}
    for row in wanted:
        found = already.get((row.product_id, row.warehouse_id, row.supplier_id))
        if found:
            po_id, status = found
            skipped.append(
                f"{row.sku} @ {row.warehouse_code}: already on {document_number('PO', po_id)} "
                f"({PurchaseOrderStatus(status).label.lower()})."
            )
            continue
        groups.setdefault((row.supplier_id, row.warehouse_id), []).append(row)
    if not groups:
        return DraftResult(created=[], reused=[], skipped=skipped)

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
    created, reused, lines = [], [], []
    for key in sorted(groups):
        pending = groups[key]
        # The slowest line decides when the whole order can be complete.
        expected = today + dt.timedelta(days=max(row.lead_time_days for row in pending))
        draft = drafts.get(key)
        room = MAX_LINES - line_counts.get(draft.pk, 0) if draft else 0
        batches = []
        if room > 0:
            if draft.expected_date < expected:
                draft.expected_date = expected
                draft.save(update_fields=["expected_date"])
            reused.append(draft)
            batches.append((draft, pending[:room]))
            pending = pending[room:]
        while pending:
            po = PurchaseOrder.objects.create(
                supplier_id=key[0],
                warehouse_id=key[1],
                expected_date=expected,
                notes=f"Drafted from reorder suggestions on {today:%d %b %Y}.",
                created_by=user,
            )
            created.append(po)
            batches.append((po, pending[:MAX_LINES]))
            pending = pending[MAX_LINES:]
        lines += [
            PurchaseOrderLine(
                purchase_order=po,
                product_id=row.product_id,
                quantity_ordered=row.suggested_qty,
                unit_cost=row.unit_cost,
            )
            for po, batch in batches
            for row in batch
        ]
    PurchaseOrderLine.objects.bulk_create(lines)
    return DraftResult(created=created, reused=reused, skipped=skipped)
