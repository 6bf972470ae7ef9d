"""Planning's writes: draft purchase orders from suggestions and applying suggested safety stock,
each through the owning app's services."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from common.transactions import write_transaction
from inventory.models import SafetyStockChange, StockLevel
from inventory.services import level_ids_clean, safety_stock_record
from planning.selectors import ReorderRow, suggestions_for
from suppliers.models import PurchaseOrder
from suppliers.services import DraftLineInput, purchase_order_drafts_add


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
    up and the second sees the first one's lines (suppliers.services.purchase_order_drafts_add,
    which owns how lines become drafts)."""
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
    added = purchase_order_drafts_add(
        lines=[
            DraftLineInput(
                supplier_id=row.supplier_id,
                warehouse_id=row.warehouse_id,
                product_id=row.product_id,
                quantity=row.suggested_qty,
                unit_cost=row.unit_cost,
                lead_time_days=row.lead_time_days,
                label=f"{row.sku} @ {row.warehouse_code}",
            )
            for row in wanted
        ],
        by=by,
        note=f"Drafted from reorder suggestions on {timezone.localdate():%d %b %Y}.",
    )
    return DraftResult(
        created=added.created, reused=added.reused, skipped=[*skipped, *added.skipped]
    )
