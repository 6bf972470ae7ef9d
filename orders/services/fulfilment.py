"""Shipping what is allocated on an order."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError

from common.cleaning import acting_user, id_int, quantity_clean
from common.transactions import write_transaction
from inventory.models import MovementKind
from inventory.services import MovementSpec, levels_lock, stock_movements_apply

from ..models import Allocation, AllocationKind, OrderLine
from .common import order_lookup, orders_lock, require_open, status_for


@write_transaction
def order_ship(*, order_id: int, by, quantities: Mapping[int, object] | None = None):
    """Ship allocated stock of an order, all of it (quantities=None) or the given units per line id.

    on_hand and allocated go down together, with a shipment movement in the ledger (rules 1, 2)."""
    key = order_lookup(order_id)
    product_ids = list(
        OrderLine.objects.filter(order_id=key.pk).values_list("product_id", flat=True)
    )
    # Check the shape of the request before taking any lock.
    wanted: dict[int, int] | None = None
    if quantities is not None:
        wanted = {}
        for raw_id, raw_qty in quantities.items():
            try:
                line_id = id_int(raw_id)
            except (TypeError, ValueError):
                raise ValidationError("Unknown order line.", code="unknown_line") from None
            qty = quantity_clean(raw_qty, field="quantity to ship", allow_zero=True)
            if qty:
                wanted[line_id] = qty
        if not wanted:
            raise ValidationError(
                "Enter a quantity to ship on at least one line.", code="nothing_to_ship"
            )

    levels = levels_lock(pairs=[(pid, key.warehouse_id) for pid in product_ids])
    order = orders_lock([key.pk])[key.pk]
    require_open(order, "shipped")
    lines = list(order.lines.select_related("product"))
    by_id = {line.pk: line for line in lines}
    if wanted is None:
        wanted = {line.pk: line.quantity_allocated for line in lines if line.quantity_allocated}
        if not wanted:
            raise ValidationError(
                "Nothing on %(number)s is allocated yet.",
                code="nothing_to_ship",
                params={"number": order.number},
            )
    unknown = set(wanted) - by_id.keys()
    if unknown:
        raise ValidationError(
            "A line does not belong to %(number)s.",
            code="unknown_line",
            params={"number": order.number},
        )

    specs, history = [], []
    user = acting_user(by)
    for line_id, qty in sorted(wanted.items()):
        line = by_id[line_id]
        if qty > line.quantity_allocated:
            raise ValidationError(
                "Only %(allocated)s of %(sku)s are allocated on %(number)s; you cannot ship %(qty)s.",
                code="over_allocated",
                params={
                    "allocated": line.quantity_allocated,
                    "sku": line.product.sku,
                    "number": order.number,
                    "qty": qty,
                },
            )
        level = levels[(line.product_id, order.warehouse_id)]
        # Allocated goes down before on_hand, so the ledger helper's on_hand ≥ allocated check holds.
        level.allocated -= qty
        line.quantity_allocated -= qty
        line.quantity_shipped += qty
        specs.append(
            MovementSpec(
                level=level,
                quantity=-qty,
                kind=MovementKind.SHIPMENT,
                reason="Shipped to customer",
                reference=order.number,
            )
        )
        history.append(
            Allocation(
                line=line,
                quantity=-qty,
                kind=AllocationKind.SHIPMENT,
                reason="Shipped",
                created_by=user,
            )
        )
    stock_movements_apply(specs=specs, by=by, also_save=("allocated",))
    OrderLine.objects.bulk_update(
        [by_id[i] for i in wanted], ["quantity_allocated", "quantity_shipped"]
    )
    Allocation.objects.bulk_create(history)
    order.status = status_for(lines)
    order.save(update_fields=["status"])
    return order
