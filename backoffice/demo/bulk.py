"""Write demo blocks with bulk inserts, applying the services' rules to rows held in memory.

At benchmark scale, one service call per order, receipt and shipment would take hours. This writer
replays the same plan as `replay`, but keeps a block's levels, orders and purchase orders as model
instances in memory and changes them exactly as the services would: placement takes only stock not
owed to the queue (rule 3), releases go down the queue in order, shipping and cancelling return
allocations, and every change writes the same ledger row, allocation record and status. Order
status comes from the services' own `status_for`. When the block is done, its final rows are
inserted parents first with `bulk_create`, a few thousand per statement, so memory holds one batch
and never the whole database. The result is checked by `manage.py check_stock`, and the tests
compare it with what the services produce for the same plan.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser

from backoffice.demo import events as p
from backoffice.demo.rows import Rows
from inventory.models import (
    MovementKind,
    Product,
    SafetyStockChange,
    StockLevel,
    StockMovement,
    Warehouse,
)
from orders.models import (
    Allocation,
    AllocationKind,
    Customer,
    OrderLine,
    Release,
    SalesOrder,
    SalesOrderStatus,
)
from orders.services.common import status_for, waiting
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Shipment,
    ShipmentLine,
    Supplier,
    SupplierProduct,
)


class BlockSimulation:
    """One block of the plan, applied in memory with the services' rules."""

    def __init__(
        self,
        plan: p.Plan,
        *,
        rows: Rows,
        warehouses: dict[str, Warehouse],
        users: dict[str, AbstractBaseUser],
    ):
        self.plan = plan
        self.rows = rows
        self.warehouses = warehouses
        self.users = users
        self.products = {
            item.key: rows.add(
                Product(
                    sku=item.sku,
                    name=item.name,
                    unit=item.unit,
                    created_at=plan.started_at - dt.timedelta(days=30),
                )
            )
            for item in plan.products
        }
        self.levels: dict[p.LevelKey, StockLevel] = {}
        self.level_order: dict[p.LevelKey, int] = {}
        for index, key in enumerate(plan.level_keys):
            self.levels[key] = rows.add(
                StockLevel(product=self.products[key[0]], warehouse=warehouses[key[1]])
            )
            self.level_order[key] = index
        self.suppliers = {
            item.key: rows.add(Supplier(name=item.name, email=item.email, phone=item.phone))
            for item in plan.suppliers
        }
        self.costs = {}
        for term in plan.terms:
            rows.add(
                SupplierProduct(
                    supplier=self.suppliers[term.supplier],
                    product=self.products[term.product],
                    supplier_sku=term.supplier_sku,
                    unit_cost=term.unit_cost,
                    lead_time_days=term.lead_time_days,
                    min_order_qty=term.min_order_qty,
                    pack_size=term.pack_size,
                    is_preferred=term.is_preferred,
                )
            )
            self.costs[(term.supplier, term.product)] = term.unit_cost
        self.customers = {
            item.key: rows.add(Customer(name=item.name, email=item.email))
            for item in plan.customers
        }
        self.level_lines: dict[p.LevelKey, list[OrderLine]] = defaultdict(list)
        self.order_lines: dict[int, list[OrderLine]] = {}
        self.orders: dict[int, SalesOrder] = {}
        self.placed: dict[int, p.OrderPlace] = {}
        self.open_orders: dict[str, list[int]] = {code: [] for code in warehouses}
        self.purchase_orders: dict[int, tuple[PurchaseOrder, dict[int, PurchaseOrderLine]]] = {}
        self.receipts: dict[str, tuple[Shipment, list[int]]] = {}
        self.freed: dict[int, list[int]] = {}
        self.sequence = 0  # stands in for primary keys where the services order by them

    def run(self) -> None:
        handlers = {
            p.OpeningCount: self._opening,
            p.CycleCount: self._cycle_count,
            p.Adjust: self._adjust,
            p.Transfer: self._transfer,
            p.SafetyStock: self._safety_stock,
            p.PurchaseCreate: self._po_create,
            p.PurchaseSend: self._po_send,
            p.PurchaseReceive: self._po_receive,
            p.PurchaseCancel: self._po_cancel,
            p.OrderPlace: self._order_place,
            p.OrderCancel: self._order_cancel,
            p.Release: self._release,
            p.Dispatch: self._dispatch,
        }
        for event in self.plan.events:
            handlers[type(event)](event, self.users[event.by])

    # stock (inventory.services)

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def _move(
        self,
        level: StockLevel,
        quantity: int,
        *,
        kind: str,
        reason: str,
        at: dt.datetime,
        by,
        reference: str | Callable[[], str] = "",
    ) -> None:
        level.on_hand += quantity
        if level.on_hand < level.allocated or level.allocated < 0:
            raise AssertionError(f"demo plan breaks rule 2 at {level.product.sku}")
        self.rows.leaf(
            StockMovement,
            level=level,
            kind=kind,
            quantity=quantity,
            balance_after=level.on_hand,
            reason=reason[:255],
            reference=reference[:40] if isinstance(reference, str) else lambda: reference()[:40],
            created_by=by,
            created_at=at,
        )

    def _owed(self, key: p.LevelKey) -> int:
        return sum(max(0, waiting(line)) for line in self.level_lines[key])

    def _count(self, key: p.LevelKey, counted: int, *, reason: str, at, by) -> None:
        level = self.levels[key]
        if counted != level.on_hand:
            self._move(
                level, counted - level.on_hand, kind=MovementKind.COUNT, reason=reason, at=at, by=by
            )

    def _opening(self, event: p.OpeningCount, by) -> None:
        self._count(event.level, event.counted, reason="Opening stock take", at=event.at, by=by)

    def _cycle_count(self, event: p.CycleCount, by) -> None:
        level = self.levels[event.level]
        counted = max(level.allocated, level.on_hand - event.shrink)
        self._count(event.level, counted, reason="Cycle count", at=event.at, by=by)

    def _adjust(self, event: p.Adjust, by) -> None:
        level = self.levels[event.level]
        delta = event.delta if event.delta > 0 else -min(-event.delta, level.available)
        if delta:
            self._move(
                level, delta, kind=MovementKind.ADJUSTMENT, reason=event.reason, at=event.at, by=by
            )

    def _transfer(self, event: p.Transfer, by) -> None:
        source_key = (event.product, event.source)
        source, target = self.levels[source_key], self.levels[(event.product, event.target)]
        quantity = min(event.quantity, max(0, source.available - self._owed(source_key)))
        if not quantity:
            return
        reference = f"TR {event.source}→{event.target}"
        for level, signed in ((source, -quantity), (target, quantity)):
            self._move(
                level,
                signed,
                kind=MovementKind.TRANSFER,
                reason=event.reason,
                reference=reference,
                at=event.at,
                by=by,
            )

    def _safety_stock(self, event: p.SafetyStock, by) -> None:
        for key in sorted(set(event.levels), key=self.level_order.__getitem__):
            level = self.levels[key]
            if level.safety_stock != event.value:
                self.rows.leaf(
                    SafetyStockChange,
                    level=level,
                    old_value=level.safety_stock,
                    new_value=event.value,
                    reason=event.reason,
                    changed_by=by,
                    changed_at=event.at,
                )
                level.safety_stock = event.value

    # purchasing (suppliers.services)

    def _po_create(self, event: p.PurchaseCreate, by) -> None:
        po = self.rows.add(
            PurchaseOrder(
                supplier=self.suppliers[event.supplier],
                warehouse=self.warehouses[event.warehouse],
                expected_date=event.expected,
                notes=event.notes[:2000],
                created_by=by,
                created_at=event.at,
            )
        )
        lines = {
            product: self.rows.add(
                PurchaseOrderLine(
                    purchase_order=po,
                    product=self.products[product],
                    quantity_ordered=quantity,
                    unit_cost=self.costs[(event.supplier, product)],
                )
            )
            for product, quantity in event.lines
        }
        self.purchase_orders[event.po] = (po, lines)

    def _po_send(self, event: p.PurchaseSend, by) -> None:
        po, _ = self.purchase_orders[event.po]
        po.status = PurchaseOrderStatus.SENT
        po.sent_at = event.at

    def _po_cancel(self, event: p.PurchaseCancel, by) -> None:
        po, _ = self.purchase_orders[event.po]
        po.status = PurchaseOrderStatus.CANCELLED
        po.cancel_reason = event.reason
        po.closed_at = event.at

    def _po_receive(self, event: p.PurchaseReceive, by) -> None:
        po, lines = self.purchase_orders[event.po]
        shipment = self.rows.add(
            Shipment(
                purchase_order=po,
                idempotency_key=event.key,
                reference=event.reference[:100],
                received_by=by,
                received_at=event.at,
            )
        )
        position = {product: index for index, product in enumerate(lines)}
        arrived = dict(event.quantities)
        for product in sorted(arrived, key=position.__getitem__):  # line id order
            line, quantity = lines[product], arrived[product]
            line.quantity_received += quantity
            self.rows.leaf(
                ShipmentLine, shipment=shipment, purchase_order_line=line, quantity=quantity
            )
            self._move(
                self.levels[(product, po.warehouse.code)],
                quantity,
                kind=MovementKind.RECEIPT,
                reason=f"Received from {po.supplier.name}",
                reference=lambda po=po, shipment=shipment: f"{po.number} {shipment.number}",
                at=event.at,
                by=by,
            )
        complete = all(line.quantity_received >= line.quantity_ordered for line in lines.values())
        po.status = (
            PurchaseOrderStatus.RECEIVED if complete else PurchaseOrderStatus.PARTIALLY_RECEIVED
        )
        po.closed_at = event.at if complete else None
        self.receipts[event.key] = (shipment, sorted(arrived))

    # orders (orders.services)

    def _queue_key(self, line: OrderLine):
        return (-line.order.priority, line.order.placed_at, line.order._seq, line._seq)

    def _allocation(self, line: OrderLine, quantity: int, kind: str, *, at, by, **extra):
        self.rows.leaf(
            Allocation,
            line=line,
            quantity=quantity,
            kind=kind,
            created_by=by,
            created_at=at,
            **{"reason": "", **extra},
        )

    def _order_place(self, event: p.OrderPlace, by) -> None:
        warehouse = event.warehouse
        owed = {product: self._owed((product, warehouse)) for product, _ in event.lines}
        order = self.rows.add(
            SalesOrder(
                customer=self.customers[event.customer],
                warehouse=self.warehouses[warehouse],
                priority=event.priority,
                customer_reference=event.reference[:60],
                placed_at=event.at,
                created_by=by,
            )
        )
        order._seq = self._next()
        order._key = event.order
        lines = []
        for product, quantity in event.lines:
            level = self.levels[(product, warehouse)]
            take = min(quantity, max(0, level.available - owed[product]))
            level.allocated += take
            line = self.rows.add(
                OrderLine(
                    order=order,
                    product=self.products[product],
                    quantity_ordered=quantity,
                    quantity_allocated=take,
                )
            )
            line._seq = self._next()
            line._product_key = product
            lines.append(line)
            self.level_lines[(product, warehouse)].append(line)
            if take:
                self._allocation(
                    line,
                    take,
                    AllocationKind.PLACEMENT,
                    reason=lambda order=order: f"Free stock when {order.number} was placed",
                    at=event.at,
                    by=by,
                )
        order.status = status_for(lines)
        self.orders[event.order] = order
        self.order_lines[event.order] = lines
        self.placed[event.order] = event
        self.open_orders[warehouse].append(event.order)

    def _order_cancel(self, event: p.OrderCancel, by) -> None:
        order = self.orders[event.order]
        if not order.is_open:
            return
        warehouse = self.placed[event.order].warehouse
        freed: dict[int, int] = defaultdict(int)
        for line in self.order_lines[event.order]:
            if not (line.quantity_allocated or waiting(line)):
                continue
            product = line._product_key
            if line.quantity_allocated:
                self.levels[(product, warehouse)].allocated -= line.quantity_allocated
                freed[product] += line.quantity_allocated
                self._allocation(
                    line,
                    -line.quantity_allocated,
                    AllocationKind.CANCELLATION,
                    reason=event.reason,
                    at=event.at,
                    by=by,
                )
            line.quantity_cancelled += line.quantity_allocated + waiting(line)
            line.quantity_allocated = 0
            line.cancel_reason = event.reason
        order.status = status_for(self.order_lines[event.order])
        if order.status == SalesOrderStatus.CANCELLED:
            order.cancelled_at = event.at
        order.cancel_reason = event.reason
        self.freed[event.order] = sorted(product for product, units in freed.items() if units)
        if not order.is_open:
            self.open_orders[warehouse].remove(event.order)

    def _release(self, event: p.Release, by) -> None:
        warehouse = event.warehouse
        if event.receipt:
            shipment, products = self.receipts.get(event.receipt, (None, []))
        else:
            shipment, products = None, self.freed.get(event.cancelled_order, [])
        decisions = []
        for product in products:
            key = (product, warehouse)
            queue = sorted(
                (line for line in self.level_lines[key] if waiting(line) > 0),
                key=self._queue_key,
            )
            free = max(0, self.levels[key].available)
            for position, line in enumerate(queue, start=1):
                quantity = min(waiting(line), free)
                free -= quantity
                if quantity:
                    decisions.append((key, line, quantity, position))
        if not decisions:
            return
        release = self.rows.add(
            Release(
                warehouse=self.warehouses[warehouse],
                shipment=shipment,
                note=event.note,
                created_by=by,
                created_at=event.at,
            )
        )
        touched = {}
        for key, line, quantity, position in decisions:
            line.quantity_allocated += quantity
            self.levels[key].allocated += quantity
            self._allocation(
                line,
                quantity,
                AllocationKind.RELEASE,
                release=release,
                shipment=shipment,
                reason=f"Queue position {position}",
                at=event.at,
                by=by,
            )
            touched[line.order._key] = line.order
        for order_key, order in touched.items():
            order.status = status_for(self.order_lines[order_key])

    def _dispatch(self, event: p.Dispatch, by) -> None:
        still_open = []
        for order_key in self.open_orders[event.warehouse]:
            order, placed = self.orders[order_key], self.placed[order_key]
            lines = self.order_lines[order_key]
            if placed.ship_after <= event.at and p.ships_now(
                order.status,
                sum(line.quantity_allocated for line in lines),
                partial_ok=placed.partial_ok,
            ):
                self._ship(order, lines, event, by)
            if order.is_open:
                still_open.append(order_key)
        self.open_orders[event.warehouse] = still_open

    def _ship(self, order: SalesOrder, lines: list[OrderLine], event: p.Dispatch, by) -> None:
        for line in lines:
            quantity = line.quantity_allocated
            if not quantity:
                continue
            level = self.levels[(line._product_key, event.warehouse)]
            level.allocated -= quantity
            line.quantity_allocated -= quantity
            line.quantity_shipped += quantity
            self._move(
                level,
                -quantity,
                kind=MovementKind.SHIPMENT,
                reason="Shipped to customer",
                reference=lambda order=order: order.number,
                at=event.at,
                by=by,
            )
            self._allocation(
                line, -quantity, AllocationKind.SHIPMENT, reason="Shipped", at=event.at, by=by
            )
        order.status = status_for(lines)
