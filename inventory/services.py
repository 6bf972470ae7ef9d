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

import functools
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Q

from .models import MovementKind, Product, SafetyStockChange, StockLevel, StockMovement, Warehouse

logger = logging.getLogger(__name__)

# PostgreSQL SQLSTATEs worth retrying: the database chose us as a deadlock victim or could not
# serialise; the whole transaction is rolled back, so running it again from the start is safe.
_RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}
_MAX_ATTEMPTS = 4


def _is_retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(
        getattr(cause, "diag", None), "sqlstate", None
    )
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)


def write_transaction[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run a top-level write in one durable transaction, retrying it on deadlock.

    Row locks are taken in a fixed order, so deadlocks should not happen; this is the safety net
    that keeps one from ever reaching a user. Callbacks queued with on_commit in a failed attempt
    are discarded with its rollback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic(durable=True):
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == _MAX_ATTEMPTS or not _is_retryable(exc):
                    raise
                logger.warning("%s: retrying after %s (attempt %d)", func.__name__, exc, attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


# --- input checks (DESIGN.md rule 8) ----------------------------------------------------------


# Plain decimal notation only: "12", "-3", "12.0". No exponents ("1e3"), separators or spaces inside.
_QUANTITY_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _decimal_from_input(value: Any) -> Decimal | None:
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else value
        return number if number.is_finite() else None
    text = str(value).strip()
    if len(text) > 40 and _QUANTITY_TEXT.fullmatch(text):
        return Decimal(10) ** 40  # far beyond any limit: reported as too large, not parsed
    if not _QUANTITY_TEXT.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def quantity_clean(
    value: Any, *, field: str = "quantity", allow_zero: bool = False, signed: bool = False
) -> int:
    """Turn user input into a whole quantity or raise a ValidationError saying what is wrong."""
    limit = settings.BACKSTOCK_MAX_QUANTITY
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        raise ValidationError("Enter a %(field)s.", code="required", params={"field": field})
    number = _decimal_from_input(value)
    if number is None:
        raise ValidationError(
            "The %(field)s must be a whole number.", code="not_a_number", params={"field": field}
        )
    # Compare before converting: int() of a huge exponent would take minutes and gigabytes.
    if abs(number) > limit:
        raise ValidationError(
            "The %(field)s is too large (the limit is %(limit)s).",
            code="too_large",
            params={"field": field, "limit": f"{limit:,}"},
        )
    if number != number.to_integral_value():
        raise ValidationError(
            "The %(field)s must be a whole number.", code="fractional", params={"field": field}
        )
    quantity = int(number)
    if signed:
        if quantity == 0 and not allow_zero:
            raise ValidationError(
                "The %(field)s cannot be zero.", code="zero", params={"field": field}
            )
        return quantity
    if quantity < 0:
        raise ValidationError(
            "The %(field)s cannot be negative.", code="negative", params={"field": field}
        )
    if quantity == 0 and not allow_zero:
        raise ValidationError(
            "The %(field)s must be at least 1.", code="zero", params={"field": field}
        )
    return quantity


def reason_clean(value: Any, *, required: bool = True, field: str = "reason") -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError("Give a %(field)s.", code="reason_required", params={"field": field})
    if len(text) > 255:
        raise ValidationError(
            "Keep the %(field)s under 255 characters.",
            code="reason_too_long",
            params={"field": field},
        )
    return text


def acting_user(by):
    """Services accept the request user; anonymous or missing users are recorded as nobody."""
    return by if getattr(by, "is_authenticated", False) else None


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


def levels_save(*, levels: Iterable[StockLevel], fields: list[str]) -> None:
    """Write changed columns of locked levels in one statement."""
    rows = list(levels)
    if len(rows) == 1:
        rows[0].save(update_fields=fields)
    elif rows:
        StockLevel.objects.bulk_update(rows, fields)


# --- the inventory services -------------------------------------------------------------------


def id_int(value: Any) -> int:
    """A primary key from untrusted input; ValueError for anything that cannot be one (booleans,
    text, zero, negatives, numbers beyond the 64-bit keys the database uses)."""
    if isinstance(value, bool):
        raise ValueError("not an id")
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError("id out of range")
    return number


def _id_clean(value: Any, message: str, code: str) -> int:
    """A primary key from untrusted input, or the given message (never a server error)."""
    try:
        return id_int(value)
    except (TypeError, ValueError):
        raise ValidationError(message, code=code) from None


def _level_lookup(level_id: int) -> StockLevel:
    try:
        return StockLevel.objects.only("product_id", "warehouse_id").get(pk=level_id)
    except (StockLevel.DoesNotExist, ValueError, TypeError, OverflowError):
        raise ValidationError("That stock level does not exist.", code="unknown_level") from None


def _owed_to_queue(level: StockLevel) -> int:
    from orders.selectors import backordered_by_product  # orders depends on inventory, not back

    return backordered_by_product(
        warehouse_id=level.warehouse_id, product_ids=[level.product_id]
    ).get(level.product_id, 0)


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
    free = max(0, source.available - _owed_to_queue(source))
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
    # A plain row lock is enough: safety stock is not part of any read-check-write on quantities.
    levels = list(
        StockLevel.objects.filter(pk__in=ids).select_for_update(no_key=True).order_by("pk")
    )
    if len(levels) != len(ids):
        raise ValidationError(
            "Some of the chosen stock levels no longer exist.", code="unknown_level"
        )
    user = acting_user(by)
    changes = [
        SafetyStockChange(
            level=level,
            old_value=level.safety_stock,
            new_value=value,
            reason=reason,
            changed_by=user,
        )
        for level in levels
        if level.safety_stock != value
    ]
    for level in levels:
        level.safety_stock = value
    levels_save(levels=[c.level for c in changes], fields=["safety_stock"])
    SafetyStockChange.objects.bulk_create(changes)
    return changes


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


def suggestion_reason(row) -> str:
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
    from .reorder import suggestions_for  # the reorder selectors read other apps lazily too

    ids = level_ids_clean(level_ids)
    # Same lock as safety_stock_set, taken before the read so two applies queue up.
    levels = {
        level.pk: level
        for level in StockLevel.objects.filter(pk__in=ids)
        .select_for_update(no_key=True, of=("self",))
        .order_by("pk")
    }
    rows = {row.level_id: row for row in suggestions_for(level_ids=ids, include_all=True)}
    if set(rows) != set(ids) or set(levels) != set(ids):
        raise ValidationError(
            "Some of the chosen stock levels no longer exist or are for inactive products or "
            "warehouses.",
            code="unknown_level",
        )
    user = acting_user(by)
    changes = []
    for level_id in ids:
        level, row = levels[level_id], rows[level_id]
        if level.safety_stock == row.suggested_safety_stock:
            continue
        changes.append(
            SafetyStockChange(
                level=level,
                old_value=level.safety_stock,
                new_value=row.suggested_safety_stock,
                reason=suggestion_reason(row),
                changed_by=user,
            )
        )
        level.safety_stock = row.suggested_safety_stock
    levels_save(levels=[c.level for c in changes], fields=["safety_stock"])
    SafetyStockChange.objects.bulk_create(changes)
    return changes
