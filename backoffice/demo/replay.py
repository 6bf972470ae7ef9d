"""Replay a plan through the services, as staff would have done it day by day.

Reference data (warehouses, products, suppliers and their terms, empty stock levels) has no service
and is inserted directly; customers are created with `customer_create`. Every change of stock and
every order goes through the services, so the ledger, allocations and statuses are exactly what the
application itself produces. The services stamp rows with the current time; after each event the
rows it created are moved back to the event's time (this command is the only place that rewrites
timestamps, and only on rows it has just written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Sum

from backoffice.demo import events as p
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement, Warehouse
from inventory.services import safety_stock_set, stock_adjust, stock_count, stock_transfer
from orders.models import Allocation, Customer, SalesOrder
from orders.models import Release as ReleaseRow
from orders.selectors import backordered_by_product
from orders.services import (
    ReleaseDecision,
    customer_create,
    order_cancel,
    order_place,
    order_ship,
    release_confirm,
    release_propose,
)
from suppliers.models import PurchaseOrder, PurchaseOrderLine, Shipment, Supplier, SupplierProduct
from suppliers.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)


class ServiceReplay:
    def __init__(
        self,
        plan: p.Plan,
        *,
        warehouses: dict[str, Warehouse],
        users: dict[str, AbstractBaseUser],
        started: dt.datetime,
    ):
        self.plan = plan
        self.warehouses = warehouses
        self.users = users
        # Rows the services stamp with the real time are at or after this instant; every plan time
        # is before it, so "created at or after started" means "written by the current event".
        self.started = started
        self.products: dict[int, int] = {}
        self.levels: dict[p.LevelKey, int] = {}
        self.suppliers: dict[int, int] = {}
        self.customers: dict[int, int] = {}
        self.purchase_orders: dict[int, int] = {}
        self.orders: dict[int, int] = {}
        self.open_orders: dict[str, dict[int, p.OrderPlace]] = {code: {} for code in warehouses}
        self.receipts: dict[str, tuple[int, list[int]]] = {}  # key → (shipment id, product ids)
        self.freed: dict[int, list[int]] = {}  # order key → product ids freed by its cancellation

    # reference data

    def setup(self) -> None:
        plan = self.plan
        products = Product.objects.bulk_create(
            Product(sku=item.sku, name=item.name, unit=item.unit) for item in plan.products
        )
        Product.objects.filter(pk__in=[row.pk for row in products]).update(
            created_at=plan.started_at - dt.timedelta(days=30)
        )
        self.products = {
            item.key: row.pk for item, row in zip(plan.products, products, strict=True)
        }
        levels = StockLevel.objects.bulk_create(
            StockLevel(product_id=self.products[key], warehouse=self.warehouses[code])
            for key, code in plan.level_keys
        )
        self.levels = {key: row.pk for key, row in zip(plan.level_keys, levels, strict=True)}
        suppliers = Supplier.objects.bulk_create(
            Supplier(name=item.name, email=item.email, phone=item.phone) for item in plan.suppliers
        )
        self.suppliers = {
            item.key: row.pk for item, row in zip(plan.suppliers, suppliers, strict=True)
        }
        SupplierProduct.objects.bulk_create(
            SupplierProduct(
                supplier_id=self.suppliers[term.supplier],
                product_id=self.products[term.product],
                supplier_sku=term.supplier_sku,
                unit_cost=term.unit_cost,
                lead_time_days=term.lead_time_days,
                min_order_qty=term.min_order_qty,
                pack_size=term.pack_size,
                is_preferred=term.is_preferred,
            )
            for term in plan.terms
        )
        # Addresses are added after the history: replaying a release must not email customers
        # about orders that went out months ago.
        for customer in plan.customers:
            self.customers[customer.key] = customer_create(name=customer.name).pk

    def finish(self) -> None:
        for customer in self.plan.customers:
            Customer.objects.filter(pk=self.customers[customer.key]).update(email=customer.email)

    # history

    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
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
        events = self.plan.events
        for index, event in enumerate(events, start=1):
            handlers[type(event)](event, self.users[event.by])
            if progress:
                progress(index, len(events))

    def _backdate_movements(self, at: dt.datetime) -> None:
        StockMovement.objects.filter(created_at__gte=self.started).update(created_at=at)

    def _backdate_allocations(self, at: dt.datetime) -> None:
        Allocation.objects.filter(created_at__gte=self.started).update(created_at=at)

    def _level(self, key: p.LevelKey) -> StockLevel:
        return StockLevel.objects.get(pk=self.levels[key])

    def _opening(self, event: p.OpeningCount, by) -> None:
        stock_count(
            level_id=self.levels[event.level],
            counted=event.counted,
            reason="Opening stock take",
            by=by,
        )
        self._backdate_movements(event.at)

    def _cycle_count(self, event: p.CycleCount, by) -> None:
        level = self._level(event.level)
        counted = max(level.allocated, level.on_hand - event.shrink)
        if counted != level.on_hand:
            stock_count(level_id=level.pk, counted=counted, reason="Cycle count", by=by)
            self._backdate_movements(event.at)

    def _adjust(self, event: p.Adjust, by) -> None:
        level = self._level(event.level)
        delta = event.delta if event.delta > 0 else -min(-event.delta, level.available)
        if delta:
            stock_adjust(level_id=level.pk, delta=delta, reason=event.reason, by=by)
            self._backdate_movements(event.at)

    def _transfer(self, event: p.Transfer, by) -> None:
        source = self._level((event.product, event.source))
        owed = backordered_by_product(
            warehouse_id=source.warehouse_id, product_ids=[source.product_id]
        ).get(source.product_id, 0)
        quantity = min(event.quantity, max(0, source.available - owed))
        if quantity:
            stock_transfer(
                product_id=source.product_id,
                from_warehouse_id=source.warehouse_id,
                to_warehouse_id=self.warehouses[event.target].pk,
                quantity=quantity,
                reason=event.reason,
                by=by,
            )
            self._backdate_movements(event.at)

    def _safety_stock(self, event: p.SafetyStock, by) -> None:
        safety_stock_set(
            level_ids=[self.levels[key] for key in event.levels],
            value=event.value,
            reason=event.reason,
            by=by,
        )
        SafetyStockChange.objects.filter(changed_at__gte=self.started).update(changed_at=event.at)

    def _po_create(self, event: p.PurchaseCreate, by) -> None:
        po = purchase_order_create(
            supplier_id=self.suppliers[event.supplier],
            warehouse_id=self.warehouses[event.warehouse].pk,
            expected_date=event.expected,
            lines=[(self.products[key], quantity) for key, quantity in event.lines],
            notes=event.notes,
            by=by,
        )
        PurchaseOrder.objects.filter(pk=po.pk).update(created_at=event.at)
        self.purchase_orders[event.po] = po.pk

    def _po_send(self, event: p.PurchaseSend, by) -> None:
        pk = self.purchase_orders[event.po]
        purchase_order_send(purchase_order_id=pk, by=by)
        PurchaseOrder.objects.filter(pk=pk).update(sent_at=event.at)

    def _po_cancel(self, event: p.PurchaseCancel, by) -> None:
        pk = self.purchase_orders[event.po]
        purchase_order_cancel(purchase_order_id=pk, reason=event.reason, by=by)
        PurchaseOrder.objects.filter(pk=pk).update(closed_at=event.at)

    def _po_receive(self, event: p.PurchaseReceive, by) -> None:
        pk = self.purchase_orders[event.po]
        line_ids = dict(
            PurchaseOrderLine.objects.filter(purchase_order_id=pk).values_list("product_id", "pk")
        )
        result = shipment_receive(
            purchase_order_id=pk,
            quantities={line_ids[self.products[key]]: qty for key, qty in event.quantities},
            idempotency_key=event.key,
            reference=event.reference,
            by=by,
        )
        Shipment.objects.filter(pk=result.shipment.pk).update(received_at=event.at)
        PurchaseOrder.objects.filter(pk=pk, closed_at__isnull=False).update(closed_at=event.at)
        self._backdate_movements(event.at)
        self.receipts[event.key] = (result.shipment.pk, result.product_ids)

    def _order_place(self, event: p.OrderPlace, by) -> None:
        order = order_place(
            customer_id=self.customers[event.customer],
            warehouse_id=self.warehouses[event.warehouse].pk,
            lines=[(self.products[key], quantity) for key, quantity in event.lines],
            priority=event.priority,
            customer_reference=event.reference,
            placed_at=event.at,
            by=by,
        )
        self._backdate_allocations(event.at)
        self.orders[event.order] = order.pk
        self.open_orders[event.warehouse][order.pk] = event

    def _order_cancel(self, event: p.OrderCancel, by) -> None:
        pk = self.orders[event.order]
        order = SalesOrder.objects.select_related("warehouse").get(pk=pk)
        if not order.is_open:
            return
        result = order_cancel(order_id=pk, reason=event.reason, by=by)
        self._backdate_allocations(event.at)
        SalesOrder.objects.filter(pk=pk, cancelled_at__isnull=False).update(cancelled_at=event.at)
        self.freed[event.order] = sorted(pid for pid, units in result.freed.items() if units)
        if not result.order.is_open:
            self.open_orders[order.warehouse.code].pop(pk, None)

    def _release(self, event: p.Release, by) -> None:
        warehouse_id = self.warehouses[event.warehouse].pk
        if event.receipt:
            shipment_id, product_ids = self.receipts.get(event.receipt, (None, []))
        else:
            shipment_id, product_ids = None, self.freed.get(event.cancelled_order, [])
        if not product_ids:
            return
        plan = release_propose(
            warehouse_id=warehouse_id, product_ids=product_ids, shipment_id=shipment_id
        )
        decisions = [
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for product in plan.products
            for line in product.lines
            if line.quantity
        ]
        if not decisions:
            return
        release_confirm(
            warehouse_id=warehouse_id,
            product_ids=plan.product_ids,
            fingerprint=plan.fingerprint,
            decisions=decisions,
            shipment_id=shipment_id,
            note=event.note,
            by=by,
        )
        ReleaseRow.objects.filter(created_at__gte=self.started).update(created_at=event.at)
        self._backdate_allocations(event.at)

    def _dispatch(self, event: p.Dispatch, by) -> None:
        due = {
            pk: placed
            for pk, placed in self.open_orders[event.warehouse].items()
            if placed.ship_after <= event.at
        }
        if not due:
            return
        rows = (
            SalesOrder.objects.filter(pk__in=list(due))
            .annotate(allocated=Sum("lines__quantity_allocated"))
            .values_list("pk", "status", "allocated")
            .order_by("pk")
        )
        shipped_any = False
        for pk, status, allocated in rows:
            if not p.ships_now(status, allocated or 0, partial_ok=due[pk].partial_ok):
                continue
            order = order_ship(order_id=pk, by=by)
            shipped_any = True
            if not order.is_open:
                del self.open_orders[event.warehouse][pk]
        if shipped_any:
            self._backdate_movements(event.at)
            self._backdate_allocations(event.at)
