"""DESIGN.md rules 1–3 hold after any sequence of the stock services (Hypothesis stateful test).

The machine drives random sequences of placing, drafting, sending, receiving (within and beyond an
over-receipt tolerance), releasing, shipping, cancelling orders, lines and purchase orders,
adjusting and transferring over two products and one or two warehouses, and after every step
checks with plain ORM aggregates that on_hand is its ledger, allocations add up, no order took
stock owed to the queue, and each level's stored backordered and on-order counters equal what its
lines say. Each example works on its own fresh products and warehouses, so examples cannot see
each other's rows inside the test's single transaction.
"""

import datetime as dt
import itertools
import uuid
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory.models import StockLevel
from inventory.services import stock_adjust, stock_transfer
from orders.models import (
    OPEN_ORDER_STATUSES,
    Allocation,
    AllocationKind,
    OrderLine,
    Priority,
    SalesOrder,
)
from orders.services import (
    ReleaseDecision,
    order_cancel,
    order_line_cancel,
    order_place,
    order_ship,
    release_confirm,
    release_propose,
)
from orders.services.common import status_for
from suppliers.models import (
    OPEN_PO_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
)
from suppliers.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_send,
    shipment_receive,
)
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import free_not_owed, invariants_check, level_for, sent_po

_examples = itertools.count()

quantity = st.integers(min_value=1, max_value=12)
pick = st.integers(min_value=0, max_value=10_000)
# The over-receipt tolerance a receipt runs under: none (the default) or a generous one.
TOLERANCES = (0, 50)


def chosen(items, index):
    return items[index % len(items)] if items else None


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.ready = False
        # (line id, ordered, free-not-owed before placing): what rule 3 allowed the line to take.
        self.placements: list[tuple[int, int, int]] = []

    # --- setup -----------------------------------------------------------------------------------

    @initialize(
        warehouse_count=st.integers(min_value=1, max_value=2), opening=st.tuples(quantity, quantity)
    )
    def setup(self, warehouse_count, opening):
        n = next(_examples)
        self.user = UserFactory()
        self.warehouses = [
            WarehouseFactory(code=f"H{n:05d}{i}", name=f"Machine {n}/{i}")
            for i in range(warehouse_count)
        ]
        self.products = [ProductFactory(), ProductFactory()]
        self.product_ids = [p.pk for p in self.products]
        self.supplier = SupplierFactory()
        self.customers = [CustomerFactory(), CustomerFactory()]
        for product, amount in zip(self.products, opening, strict=True):
            level = level_for(product, self.warehouses[0])
            stock_adjust(level_id=level.pk, delta=amount, reason="Opening stock", by=self.user)
        self.ready = True

    # --- helpers ---------------------------------------------------------------------------------

    def open_orders(self):
        return list(
            SalesOrder.objects.filter(
                lines__product_id__in=self.product_ids, status__in=OPEN_ORDER_STATUSES
            )
            .distinct()
            .order_by("pk")
        )

    def levels(self):
        return list(StockLevel.objects.filter(product_id__in=self.product_ids).order_by("pk"))

    def open_purchase_orders(self):
        return list(
            PurchaseOrder.objects.filter(
                supplier=self.supplier, status__in=OPEN_PO_STATUSES
            ).order_by("pk")
        )

    def drafts(self):
        return list(
            PurchaseOrder.objects.filter(
                supplier=self.supplier, status=PurchaseOrderStatus.DRAFT
            ).order_by("pk")
        )

    def levels_with_queue(self):
        waiting = OrderLine.objects.filter(
            product_id=OuterRef("product_id"),
            order__warehouse_id=OuterRef("warehouse_id"),
            quantity_backordered__gt=0,
        )
        return list(
            StockLevel.objects.filter(product_id__in=self.product_ids)
            .filter(Exists(waiting))
            .select_related("warehouse")
            .order_by("pk")
        )

    def releasable_warehouses(self):
        """Warehouses where some product has free stock and a queue: a release has work."""
        ids = {lv.warehouse_id for lv in self.levels_with_queue() if lv.on_hand > lv.allocated}
        return [w for w in self.warehouses if w.pk in ids]

    def has_allocated(self):
        return OrderLine.objects.filter(
            product_id__in=self.product_ids, quantity_allocated__gt=0
        ).exists()

    def has_open_lines(self):
        return OrderLine.objects.filter(
            Q(quantity_allocated__gt=0) | Q(quantity_backordered__gt=0),
            product_id__in=self.product_ids,
        ).exists()

    # --- rules -----------------------------------------------------------------------------------

    @rule(
        where=pick,
        first=st.integers(min_value=0, max_value=15),
        second=st.integers(min_value=0, max_value=15),
        priority=st.sampled_from(Priority.values),
        who=pick,
    )
    def place_order(self, where, first, second, priority, who):
        warehouse = chosen(self.warehouses, where)
        wanted = [(p, q) for p, q in zip(self.products, (first, second), strict=True) if q]
        if not wanted:
            return
        allowed = {p.pk: free_not_owed(p, warehouse) for p, _ in wanted}
        order = order_place(
            customer_id=chosen(self.customers, who).pk,
            warehouse_id=warehouse.pk,
            lines=[(p.pk, q) for p, q in wanted],
            by=self.user,
            priority=priority,
        )
        for product, ordered in wanted:
            line = OrderLine.objects.get(order=order, product=product)
            expected = min(ordered, allowed[product.pk])
            assert line.quantity_allocated == expected, (
                f"rule 3: {product.sku} ordered {ordered}, free not owed {allowed[product.pk]}, "
                f"took {line.quantity_allocated}"
            )
            self.placements.append((line.pk, ordered, allowed[product.pk]))

    @rule(
        where=pick,
        first=st.integers(min_value=0, max_value=15),
        second=st.integers(min_value=0, max_value=15),
    )
    def send_purchase_order(self, where, first, second):
        wanted = [(p, q) for p, q in zip(self.products, (first, second), strict=True) if q]
        if wanted:
            sent_po(self.supplier, chosen(self.warehouses, where), wanted, by=self.user)

    @rule(
        where=pick,
        first=st.integers(min_value=0, max_value=15),
        second=st.integers(min_value=0, max_value=15),
    )
    def draft_purchase_order(self, where, first, second):
        """A draft is not on order yet: the counters must not move until it is sent."""
        wanted = [(p, q) for p, q in zip(self.products, (first, second), strict=True) if q]
        if wanted:
            purchase_order_create(
                supplier_id=self.supplier.pk,
                warehouse_id=chosen(self.warehouses, where).pk,
                expected_date=timezone.localdate() + dt.timedelta(days=5),
                lines=[(p.pk, q, "2.00") for p, q in wanted],
                by=self.user,
            )

    @precondition(lambda self: self.ready and bool(self.drafts()))
    @rule(which=pick)
    def send_draft(self, which):
        purchase_order_send(purchase_order_id=chosen(self.drafts(), which).pk, by=self.user)

    @precondition(lambda self: self.ready and bool(self.drafts() or self.open_purchase_orders()))
    @rule(which=pick)
    def cancel_purchase_order(self, which):
        po = chosen(self.drafts() + self.open_purchase_orders(), which)
        purchase_order_cancel(purchase_order_id=po.pk, reason="Supplier let us down", by=self.user)

    @precondition(lambda self: self.ready and bool(self.open_purchase_orders()))
    @rule(
        which=pick,
        amounts=st.tuples(pick, pick),
        replay=st.booleans(),
        then_release=st.booleans(),
        tolerance=st.sampled_from(TOLERANCES),
    )
    def receive(self, which, amounts, replay, then_release, tolerance):
        po = chosen(self.open_purchase_orders(), which)
        lines = list(PurchaseOrderLine.objects.filter(purchase_order=po).order_by("pk"))
        # What each line may still take: its ordered quantity plus the tolerance, less what came.
        room = {
            line.pk: max(
                0, line.quantity_ordered * (100 + tolerance) // 100 - line.quantity_received
            )
            for line in lines
        }
        # Up to one more than the room, so over-receipts are tried too.
        quantities = {
            line.pk: amount % (room[line.pk] + 2)
            for line, amount in zip(lines, amounts, strict=False)
        }
        key = uuid.uuid4().hex
        over = any(quantity > room[line_id] for line_id, quantity in quantities.items())
        nothing = not any(quantities.values())
        with override_settings(BACKSTOCK_OVER_RECEIPT_TOLERANCE_PERCENT=tolerance):
            if over or nothing:
                with pytest.raises(ValidationError) as excinfo:
                    shipment_receive(
                        purchase_order_id=po.pk,
                        quantities=quantities,
                        idempotency_key=key,
                        by=self.user,
                    )
                assert excinfo.value.code == ("over_receipt" if over else "nothing_received")
                return
            result = shipment_receive(
                purchase_order_id=po.pk, quantities=quantities, idempotency_key=key, by=self.user
            )
        assert result.created
        if replay:
            on_hand = [lv.on_hand for lv in self.levels()]
            again = shipment_receive(
                purchase_order_id=po.pk, quantities=quantities, idempotency_key=key, by=self.user
            )
            assert not again.created
            assert [lv.on_hand for lv in self.levels()] == on_hand
        if then_release:
            self.release_everything(po.warehouse)

    def release_everything(self, warehouse):
        """Confirm the full proposal for the machine's products at a warehouse, as staff would."""
        plan = release_propose(warehouse_id=warehouse.pk, product_ids=self.product_ids)
        if not plan.has_work:
            return
        decisions = [
            ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
            for entry in plan.products
            for line in entry.lines
        ]
        result = release_confirm(
            warehouse_id=warehouse.pk,
            product_ids=self.product_ids,
            fingerprint=plan.fingerprint,
            decisions=decisions,
            by=self.user,
        )
        assert result.units == sum(d.quantity for d in decisions) > 0
        # A full greedy release leaves either no free stock or no queue behind.
        assert warehouse not in self.releasable_warehouses()

    @precondition(lambda self: self.ready and bool(self.releasable_warehouses()))
    @rule(where=pick)
    def release(self, where):
        self.release_everything(chosen(self.releasable_warehouses(), where))

    @precondition(lambda self: self.ready and self.has_allocated())
    @rule(which=pick, everything=st.booleans(), share=pick)
    def ship(self, which, everything, share):
        orders = list(
            SalesOrder.objects.filter(
                lines__product_id__in=self.product_ids, lines__quantity_allocated__gt=0
            )
            .distinct()
            .order_by("pk")
        )
        order = chosen(orders, which)
        if everything:
            order_ship(order_id=order.pk, by=self.user)
            return
        quantities = {
            line.pk: 1 + share % line.quantity_allocated
            for line in order.lines.filter(quantity_allocated__gt=0)
        }
        order_ship(order_id=order.pk, by=self.user, quantities=quantities)

    @precondition(lambda self: self.ready and self.has_open_lines())
    @rule(which=pick)
    def cancel_order(self, which):
        order = chosen(self.open_orders(), which)
        order_cancel(order_id=order.pk, reason="Customer cancelled", by=self.user)

    @precondition(lambda self: self.ready and self.has_open_lines())
    @rule(which=pick)
    def cancel_line(self, which):
        lines = [
            line
            for order in self.open_orders()
            for line in order.lines.order_by("pk")
            if line.quantity_open > 0
        ]
        order_line_cancel(line_id=chosen(lines, which).pk, reason="Line not wanted", by=self.user)

    @rule(which=pick, delta=st.integers(min_value=-15, max_value=15).filter(bool))
    def adjust(self, which, delta):
        level = chosen(self.levels(), which)
        if level.on_hand + delta < level.allocated:
            with pytest.raises(ValidationError) as excinfo:
                stock_adjust(level_id=level.pk, delta=delta, reason="Adjust", by=self.user)
            assert excinfo.value.code == "below_allocated"
            return
        stock_adjust(level_id=level.pk, delta=delta, reason="Adjust", by=self.user)

    @precondition(lambda self: self.ready and bool(self.levels_with_queue()))
    @rule(which=pick, amount=quantity, then_release=st.booleans())
    def restock_a_waiting_product(self, which, amount, then_release):
        """Stock turning up where customers wait (a found pallet, a return)."""
        level = chosen(self.levels_with_queue(), which)
        stock_adjust(level_id=level.pk, delta=amount, reason="Found stock", by=self.user)
        if then_release:
            self.release_everything(level.warehouse)

    @precondition(lambda self: self.ready and len(self.warehouses) == 2)
    @rule(which=pick, amount=quantity, backwards=st.booleans())
    def transfer(self, which, amount, backwards):
        product = chosen(self.products, which)
        source, target = self.warehouses[::-1] if backwards else self.warehouses
        allowed = free_not_owed(product, source)
        arguments = {
            "product_id": product.pk,
            "from_warehouse_id": source.pk,
            "to_warehouse_id": target.pk,
            "quantity": amount,
            "reason": "Rebalance",
            "by": self.user,
        }
        if amount > allowed:
            with pytest.raises(ValidationError) as excinfo:
                stock_transfer(**arguments)
            assert excinfo.value.code == "not_enough_free"
            return
        stock_transfer(**arguments)

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def stock_rules_hold(self):
        if not self.ready:
            return
        invariants_check(product_ids=self.product_ids)

    @invariant()
    def no_placement_took_stock_owed_to_the_queue(self):
        if not self.placements:
            return
        placed = dict(
            Allocation.objects.filter(
                line_id__in=[pk for pk, _, _ in self.placements], kind=AllocationKind.PLACEMENT
            ).values_list("line_id", "quantity")
        )
        for line_id, ordered, allowed in self.placements:
            assert placed.get(line_id, 0) == min(ordered, allowed), (line_id, ordered, allowed)

    @invariant()
    def level_counters_equal_their_lines(self):
        """Each level's stored backordered is the units waiting on its order lines and its on
        order what its sent or partly received purchase order lines still expect; every product ×
        warehouse with either has a level."""
        if not self.ready:
            return
        waiting: Counter[tuple[int, int]] = Counter()
        for (
            product_id,
            warehouse_id,
            ordered,
            allocated,
            shipped,
            cancelled,
        ) in OrderLine.objects.filter(product_id__in=self.product_ids).values_list(
            "product_id",
            "order__warehouse_id",
            "quantity_ordered",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
        ):
            waiting[(product_id, warehouse_id)] += ordered - allocated - shipped - cancelled
        expected: Counter[tuple[int, int]] = Counter()
        for product_id, warehouse_id, ordered, received in PurchaseOrderLine.objects.filter(
            product_id__in=self.product_ids, purchase_order__status__in=OPEN_PO_STATUSES
        ).values_list(
            "product_id", "purchase_order__warehouse_id", "quantity_ordered", "quantity_received"
        ):
            expected[(product_id, warehouse_id)] += max(0, ordered - received)
        stored = {
            (product_id, warehouse_id): (backordered, on_order)
            for product_id, warehouse_id, backordered, on_order in StockLevel.objects.filter(
                product_id__in=self.product_ids
            ).values_list("product_id", "warehouse_id", "backordered", "on_order")
        }
        counted = {key for key, units in (waiting + expected).items() if units}
        assert counted <= stored.keys(), f"no level for {counted - stored.keys()}"
        for key, (backordered, on_order) in stored.items():
            assert (backordered, on_order) == (waiting[key], expected[key]), (
                f"level {key}: stored backordered {backordered}, on order {on_order}; "
                f"the lines say {waiting[key]} and {expected[key]}"
            )

    @invariant()
    def order_status_follows_lines(self):
        if not self.ready:
            return
        orders = SalesOrder.objects.filter(lines__product_id__in=self.product_ids).distinct()
        for order in orders.prefetch_related("lines"):
            assert order.status == status_for(order.lines.all()), order.number


def test_stock_rules_hold_over_random_service_sequences(db):
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
