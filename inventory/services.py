"""Every write to stock: adjustments, counts, transfers, safety stock, and the locked primitives
that the orders and suppliers services use to move stock.

Locking (DESIGN.md rule 7): a write that reads, checks and writes stock first locks the StockLevel
rows it touches with SELECT … FOR NO KEY UPDATE, in primary-key order, inside one short durable
transaction. Sales orders are locked only after the levels. The one row locked before levels is a
purchase order in shipment_receive (so concurrent receipts of one order queue up); nothing locks a
level and then a purchase order, so no two writers wait on each other in opposite orders. Levels
created on first use are inserted and locked in a second pass; a deadlock there is possible only
while two writers create a product's first level at once, and write_transaction retries it. On
SQLite there are no row locks; the connection starts every transaction as IMMEDIATE, which
serialises writers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from common.bulk import columns_add
from common.cleaning import _id_clean, acting_user, id_int, quantity_clean, reason_clean
from common.transactions import write_transaction
from inventory.signals import level_settings_changed

from .models import MovementKind, Product, SafetyStockChange, StockLevel, StockMovement, Warehouse

logger = logging.getLogger(__name__)


# --- input checks (DESIGN.md rule 8) ----------------------------------------------------------


# --- locked primitives shared by the other apps' services -------------------------------------


def levels_lock(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """Lock the StockLevel rows of (product_id, warehouse_id) pairs in primary-key order,
    creating the missing ones; must run inside a write transaction."""
    wanted = set(pairs)
    if not wanted:
        return {}
    by_warehouse: dict[int, set[int]] = {}
    for product_id, warehouse_id in wanted:
        by_warehouse.setdefault(warehouse_id, set()).add(product_id)
    condition = Q()
    for warehouse_id, product_ids in by_warehouse.items():
        condition |= Q(warehouse_id=warehouse_id, product_id__in=sorted(product_ids))

    def locked() -> dict[tuple[int, int], StockLevel]:
        rows = (
            StockLevel.objects.filter(condition)
            .select_related("product", "warehouse")
            .select_for_update(no_key=True, of=("self",))
            .order_by("pk")
        )
        return {(row.product_id, row.warehouse_id): row for row in rows}

    levels = locked()
    missing = wanted - levels.keys()
    if missing:
        # Concurrent creators race harmlessly: the unique constraint keeps one row per pair.
        StockLevel.objects.bulk_create(
            [StockLevel(product_id=p, warehouse_id=w) for p, w in sorted(missing)],
            ignore_conflicts=True,
        )
        levels = locked()
    return levels


@dataclass(frozen=True)
class MovementSpec:
    level: StockLevel
    quantity: int
    kind: str
    reason: str = ""
    reference: str = ""


def stock_movements_apply(
    *, specs: list[MovementSpec], by, also_save: tuple[str, ...] = ()
) -> list[StockMovement]:
    """Apply signed stock movements to already-locked levels and write their ledger rows (rule 1).

    Callers have checked their own rules; this refuses anything that would take on_hand below
    allocated or below zero, so a bug elsewhere cannot break rule 2 silently. Callers that also
    changed other columns of the same levels name them in also_save: one UPDATE writes all.
    """
    movements = []
    touched: dict[int, StockLevel] = {}
    user = acting_user(by)
    for spec in specs:
        level = spec.level
        level.on_hand += spec.quantity
        if level.on_hand < level.allocated or level.on_hand < 0:
            raise ValidationError(
                "Only %(free)s of %(sku)s at %(wh)s are free to remove.",
                code="below_allocated",
                params={
                    "free": level.on_hand - spec.quantity - level.allocated,
                    "sku": level.product.sku,
                    "wh": level.warehouse.code,
                },
            )
        touched[level.pk] = level
        movements.append(
            StockMovement(
                level=level,
                kind=spec.kind,
                quantity=spec.quantity,
                balance_after=level.on_hand,
                reason=spec.reason[:255],
                reference=spec.reference[:40],
                created_by=user,
            )
        )
    StockMovement.objects.bulk_create(movements)
    levels_save(levels=touched.values(), fields=["on_hand", *also_save])
    return movements


LEVEL_COUNTERS = ("allocated", "backordered", "on_order")


def levels_counters_add(*, deltas: Mapping[int, Mapping[str, int]]) -> None:
    """Add to the allocated, backordered and on-order counters of levels the caller has locked
    (levels_lock), one UPDATE for any number of levels.

    The orders services keep `allocated` and `backordered`, the suppliers services `on_order`,
    each in the transaction that changes the lines they count; inventory never reads those lines.
    The database's check constraints refuse a counter below zero."""
    rows = {
        level_id: tuple(changes.get(name, 0) for name in LEVEL_COUNTERS)
        for level_id, changes in deltas.items()
        if any(changes.values())
    }
    unknown = {name for changes in deltas.values() for name in changes} - set(LEVEL_COUNTERS)
    if unknown:
        raise ValueError(f"not a level counter: {sorted(unknown)}")
    columns_add(StockLevel, LEVEL_COUNTERS, rows)


def levels_save(*, levels: Iterable[StockLevel], fields: list[str]) -> None:
    """Write changed columns of locked levels in one statement."""
    rows = list(levels)
    if len(rows) == 1:
        rows[0].save(update_fields=fields)
    elif rows:
        StockLevel.objects.bulk_update(rows, fields)


# --- the inventory services -------------------------------------------------------------------


def _level_lookup(level_id: int) -> StockLevel:
    try:
        return StockLevel.objects.only("product_id", "warehouse_id").get(pk=level_id)
    except (StockLevel.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That stock level does not exist.", code="unknown_level") from None


@write_transaction
def stock_adjust(*, level_id: int, delta: Any, reason: Any, by) -> StockMovement:
    """Change on-hand stock by delta and record why; never below what is allocated (rules 1, 2)."""
    delta = quantity_clean(delta, field="adjustment", signed=True)
    reason = reason_clean(reason)
    key = _level_lookup(level_id)
    level = levels_lock(pairs=[(key.product_id, key.warehouse_id)])[
        (key.product_id, key.warehouse_id)
    ]
    if level.on_hand + delta < level.allocated:
        raise ValidationError(
            "Only %(free)s of %(sku)s at %(wh)s are free to remove; %(allocated)s are allocated to orders.",
            code="below_allocated",
            params={
                "free": level.available,
                "sku": level.product.sku,
                "wh": level.warehouse.code,
                "allocated": level.allocated,
            },
        )
    (movement,) = stock_movements_apply(
        specs=[
            MovementSpec(level=level, quantity=delta, kind=MovementKind.ADJUSTMENT, reason=reason)
        ],
        by=by,
    )
    return movement


@write_transaction
def stock_count(*, level_id: int, counted: Any, reason: Any, by) -> StockMovement | None:
    """Set on-hand stock to a physical count with a count movement; never below allocated.

    Returns None when the count matches the books (nothing to record)."""
    counted = quantity_clean(counted, field="counted quantity", allow_zero=True)
    reason = reason_clean(reason)
    key = _level_lookup(level_id)
    level = levels_lock(pairs=[(key.product_id, key.warehouse_id)])[
        (key.product_id, key.warehouse_id)
    ]
    if counted < level.allocated:
        raise ValidationError(
            "%(allocated)s of %(sku)s are allocated to orders, so the count cannot be below that. "
            "Cancel or reduce those allocations first.",
            code="below_allocated",
            params={"allocated": level.allocated, "sku": level.product.sku},
        )
    delta = counted - level.on_hand
    if delta == 0:
        return None
    (movement,) = stock_movements_apply(
        specs=[MovementSpec(level=level, quantity=delta, kind=MovementKind.COUNT, reason=reason)],
        by=by,
    )
    return movement


@write_transaction
def stock_transfer(
    *, product_id: int, from_warehouse_id: int, to_warehouse_id: int, quantity: Any, reason: Any, by
) -> tuple[StockMovement, StockMovement]:
    """Move available stock between warehouses: two movements in one transaction.

    Only stock that is free and not owed to the source warehouse's queue may leave (rule 3)."""
    quantity = quantity_clean(quantity)
    reason = reason_clean(reason)
    product_id = _id_clean(product_id, "That product does not exist.", "unknown_product")
    from_warehouse_id = _id_clean(
        from_warehouse_id, "That warehouse does not exist.", "unknown_warehouse"
    )
    to_warehouse_id = _id_clean(
        to_warehouse_id, "That warehouse does not exist.", "unknown_warehouse"
    )
    if from_warehouse_id == to_warehouse_id:
        raise ValidationError("Choose two different warehouses.", code="same_warehouse")
    if not Product.objects.filter(pk=product_id).exists():
        raise ValidationError("That product does not exist.", code="unknown_product")
    warehouses = {
        w.pk: w
        for w in Warehouse.objects.filter(
            pk__in=[from_warehouse_id, to_warehouse_id], is_active=True
        )
    }
    if len(warehouses) != 2:
        raise ValidationError("Choose two active warehouses.", code="unknown_warehouse")
    levels = levels_lock(pairs=[(product_id, from_warehouse_id), (product_id, to_warehouse_id)])
    source, target = levels[(product_id, from_warehouse_id)], levels[(product_id, to_warehouse_id)]
    free = max(0, source.available - source.backordered)
    if quantity > free:
        raise ValidationError(
            "Only %(free)s of %(sku)s at %(wh)s can be moved: the rest is allocated or owed to waiting orders.",
            code="not_enough_free",
            params={"free": free, "sku": source.product.sku, "wh": source.warehouse.code},
        )
    reference = f"TR {source.warehouse.code}→{target.warehouse.code}"
    out_move, in_move = stock_movements_apply(
        specs=[
            MovementSpec(
                level=source,
                quantity=-quantity,
                kind=MovementKind.TRANSFER,
                reason=reason,
                reference=reference,
            ),
            MovementSpec(
                level=target,
                quantity=quantity,
                kind=MovementKind.TRANSFER,
                reason=reason,
                reference=reference,
            ),
        ],
        by=by,
    )
    return out_move, in_move


@write_transaction
def safety_stock_set(
    *, level_ids: Iterable[int], value: Any, by, reason: Any = ""
) -> list[SafetyStockChange]:
    """Set the safety stock of one or more levels and record each change with who and why."""
    value = quantity_clean(value, field="safety stock", allow_zero=True)
    reason = reason_clean(reason, required=False)
    if isinstance(level_ids, str | bytes):
        raise ValidationError("Choose stock levels from the list.", code="unknown_level")
    try:
        ids = sorted({id_int(pk) for pk in level_ids})
    except (TypeError, ValueError):
        raise ValidationError("Choose stock levels from the list.", code="unknown_level") from None
    if not ids:
        raise ValidationError("Choose at least one stock level.", code="no_levels")
    return safety_stock_record(values=dict.fromkeys(ids, (value, reason)), by=by)


def safety_stock_record(
    *, values: Mapping[int, tuple[int, str]], by, lock: bool = True
) -> list[SafetyStockChange]:
    """Give each level (by id) its new safety stock and record the change with who and why,
    inside the caller's transaction; values are (safety stock, reason), already cleaned.

    The one writer of safety stock: safety_stock_set, the admin's edit (inside the admin's own
    transaction) and planning's "apply suggested" all come through here. Levels are locked in
    key order unless the caller holds their locks already (lock=False)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("safety_stock_record must run inside the caller's transaction")
    ids = sorted(values)
    levels = StockLevel.objects.filter(pk__in=ids).order_by("pk")
    if lock:
        # A plain row lock is enough: safety stock is not part of any read-check-write on
        # quantities.
        levels = levels.select_for_update(no_key=True)
    levels = list(levels)
    if len(levels) != len(ids):
        raise ValidationError(
            "Some of the chosen stock levels no longer exist.", code="unknown_level"
        )
    user = acting_user(by)
    changes = []
    for level in levels:
        value, reason = values[level.pk]
        if level.safety_stock == value:
            continue
        changes.append(
            SafetyStockChange(
                level=level,
                old_value=level.safety_stock,
                new_value=value,
                reason=reason[:255],
                changed_by=user,
            )
        )
        level.safety_stock = value
    levels_save(levels=[c.level for c in changes], fields=["safety_stock"])
    SafetyStockChange.objects.bulk_create(changes)
    if changes:
        # The levels are locked and written: a level given a safety stock may now need ordering.
        level_settings_changed.send(sender=StockLevel, level_ids=[c.level_id for c in changes])
    return changes


def reorder_point_record(*, level_id: int, value: int | None) -> StockLevel:
    """Give a level its manual reorder point (None: back to the computed one), inside the
    caller's transaction, and announce it (`level_settings_changed`) while the level's row lock
    is held: a level with a manual reorder point may need ordering whatever its demand. The one
    writer of the manual reorder point (the admin's edit comes through here)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reorder_point_record must run inside the caller's transaction")
    level = StockLevel.objects.select_for_update(no_key=True).filter(pk=level_id).first()
    if level is None:
        raise ValidationError("This stock level no longer exists.", code="unknown_level")
    level.reorder_point = value
    levels_save(levels=[level], fields=["reorder_point"])
    level_settings_changed.send(sender=StockLevel, level_ids=[level.pk])
    return level


MAX_LEVELS_PER_REQUEST = 10_000


def level_ids_clean(level_ids: Any) -> list[int]:
    """Stock level ids chosen on a page, as sorted unique keys, or a message for people."""
    if isinstance(level_ids, str | bytes) or level_ids is None:
        raise ValidationError("Choose stock levels from the list.", code="unknown_level")
    try:
        ids = sorted({id_int(pk) for pk in level_ids})
    except (TypeError, ValueError):
        raise ValidationError("Choose stock levels from the list.", code="unknown_level") from None
    if not ids:
        raise ValidationError("Choose at least one stock level.", code="no_levels")
    if len(ids) > MAX_LEVELS_PER_REQUEST:
        raise ValidationError(
            "Choose at most %(max)s stock levels at a time.",
            code="too_many_levels",
            params={"max": f"{MAX_LEVELS_PER_REQUEST:,}"},
        )
    return ids
