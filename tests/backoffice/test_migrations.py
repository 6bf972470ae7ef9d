"""An existing database crosses the stored StockLevel counters with its data intact.

inventory 0005 adds `backordered` and `on_order`; orders 0007 and suppliers 0004 fill them from
the order lines and purchase order lines already there, creating the levels that a waiting line
or an open purchase order line needs. These tests take the test database back to the schema before
that change, write a warehouse's books through the models as they were then, migrate forward and
hold the result to `check_stock` and to counters worked out by hand.

Each test leaves the database at the latest migration, whether it passes or fails, so the tests
that run after it find the schema they expect.
"""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps as current_apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from backoffice.integrity import CHECKS, stock_discrepancies

OLD_STATE = [
    ("inventory", "0004_stocklevel_safety_set_idx"),
    ("orders", "0006_dailydemand_backfill"),
    ("suppliers", "0003_audit_who"),
]

# Every table whose rows the migrations must keep (StockLevel may only gain rows).
KEPT = (
    "inventory.Warehouse",
    "inventory.Product",
    "inventory.StockMovement",
    "inventory.SafetyStockChange",
    "orders.Customer",
    "orders.SalesOrder",
    "orders.OrderLine",
    "orders.Allocation",
    "orders.Release",
    "orders.DailyDemand",
    "suppliers.Supplier",
    "suppliers.SupplierProduct",
    "suppliers.PurchaseOrder",
    "suppliers.PurchaseOrderLine",
    "suppliers.Shipment",
    "suppliers.ShipmentLine",
)

# What migration 0005 adds to the stock level table, besides the two columns.
COUNTER_CONSTRAINTS = {
    "stocklevel_waiting_idx",
    "stocklevel_backordered_non_negative",
    "stocklevel_on_order_non_negative",
}

# (SKU, warehouse) → (on hand, allocated, safety stock, backordered, on order), worked out by hand
# from the books written below; see the notes there for each number.
EXPECTED_LEVELS = {
    ("BOLT-M8", "LON"): (138, 50, 40, 0, 0),
    ("BOLT-M8", "MAN"): (65, 25, 0, 15, 0),
    ("DRILL-18V", "MAN"): (0, 0, 0, 5, 10),
    ("GLUE-250", "LON"): (0, 0, 12, 10, 30),
    ("GLUE-250", "MAN"): (0, 0, 0, 5, 0),
    ("NUT-M8", "LON"): (397, 0, 0, 0, 0),
    ("NUT-M8", "MAN"): (200, 0, 0, 0, 300),
    ("TAPE-48", "LON"): (28, 28, 0, 6, 26),
}
# Levels that only the data migrations can have created: nothing was ever stocked there.
CREATED_LEVELS = {("DRILL-18V", "MAN"), ("GLUE-250", "MAN")}


def migrate(targets):
    """Apply or unapply migrations until exactly `targets` are the latest of their apps."""
    # A fresh executor each time: its loader reads which migrations are applied when it is built.
    MigrationExecutor(connection).migrate(targets)


def latest_state():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def state_apps(targets):
    """The app registry of the models as they were at `targets`."""
    return MigrationExecutor(connection).loader.project_state(targets).apps


def row_counts(apps) -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in KEPT}


def level_count(apps) -> int:
    return apps.get_model("inventory", "StockLevel").objects.count()


def levels_now() -> dict[tuple[str, str], tuple[int, ...]]:
    StockLevel = current_apps.get_model("inventory", "StockLevel")
    return {
        (level.product.sku, level.warehouse.code): (
            level.on_hand,
            level.allocated,
            level.safety_stock,
            level.backordered,
            level.on_order,
        )
        for level in StockLevel.objects.select_related("product", "warehouse")
    }


def stock_level_schema() -> tuple[set[str], set[str]]:
    """Column names and constraint (and index) names of the stock level table in the database."""
    table = current_apps.get_model("inventory", "StockLevel")._meta.db_table
    with connection.cursor() as cursor:
        columns = {
            column.name for column in connection.introspection.get_table_description(cursor, table)
        }
        constraints = set(connection.introspection.get_constraints(cursor, table))
    return columns, constraints


def assert_clean() -> None:
    assert stock_discrepancies() == []
    out = StringIO()
    call_command("check_stock", stdout=out)  # raises CommandError on any discrepancy
    assert "Stock is clean" in out.getvalue()


@pytest.fixture
def old_apps(transactional_db):
    """The test database at the schema before the counters, as the registry of its models; put
    back at the latest migration afterwards, also when the test or the way back fails."""
    try:
        migrate(OLD_STATE)
        yield state_apps(OLD_STATE)
    finally:
        migrate(latest_state())


def local(day: int, hour: int) -> dt.datetime:
    # In the project's time zone, the one demand days are counted in, so the day is the one given.
    return dt.datetime(2026, 3, day, hour, 30, tzinfo=timezone.get_default_timezone())


class OldBooks:
    """Writes rows through the models of the old state the way that era's services left them:
    on hand only with a movement and its running balance, allocated only with an allocation
    record, received quantities only with shipment lines."""

    def __init__(self, apps):
        self.model = apps.get_model
        self.user = self.model("auth", "User").objects.create(username="olga", first_name="Olga")

    def create(self, label: str, **fields):
        return self.model(label).objects.create(**fields)

    def movement(self, level, kind: str, quantity: int, reason: str, reference: str = "") -> None:
        level.on_hand += quantity
        level.save(update_fields=["on_hand"])
        self.create(
            "inventory.StockMovement",
            level=level,
            kind=kind,
            quantity=quantity,
            balance_after=level.on_hand,
            reason=reason,
            reference=reference,
            created_by=self.user,
        )

    def order(self, customer, warehouse, *, placed_at, status, priority=1, **fields):
        return self.create(
            "orders.SalesOrder",
            customer=customer,
            warehouse=warehouse,
            priority=priority,
            status=status,
            placed_at=placed_at,
            created_by=self.user,
            **fields,
        )

    def line(self, order, product, ordered: int, *, history=(), shipped=0, cancelled=0, **fields):
        """An order line with its allocation history, (quantity, kind, extra fields) in the order
        it happened; the line's allocated is what that history leaves."""
        line = self.create(
            "orders.OrderLine",
            order=order,
            product=product,
            quantity_ordered=ordered,
            quantity_allocated=sum(quantity for quantity, _kind, _extra in history),
            quantity_shipped=shipped,
            quantity_cancelled=cancelled,
            **fields,
        )
        for quantity, kind, extra in history:
            self.create(
                "orders.Allocation",
                line=line,
                quantity=quantity,
                kind=kind,
                created_by=self.user,
                **extra,
            )
        return line

    def receive(self, po, key: str, arrived):
        """One delivery against `po`: [(po line, level, quantity)]."""
        shipment = self.create(
            "suppliers.Shipment",
            purchase_order=po,
            idempotency_key=key,
            reference=f"DN-{key}",
            received_by=self.user,
        )
        for po_line, level, quantity in arrived:
            self.create(
                "suppliers.ShipmentLine",
                shipment=shipment,
                purchase_order_line=po_line,
                quantity=quantity,
            )
            po_line.quantity_received += quantity
            po_line.save(update_fields=["quantity_received"])
            self.movement(
                level,
                "receipt",
                quantity,
                f"Received from {po.supplier.name}",
                f"PO-{po.pk:06d} SH-{shipment.pk:06d}",
            )
        return shipment


def write_old_books(apps) -> None:
    """Two warehouses' books over three days, consistent by the rules check_stock verifies.

    The story, per level, with the numbers EXPECTED_LEVELS holds (documents numbered in the order
    they are written here; the database's own ids may differ):
    - BOLT-M8 @ LON: counted 120, PO-4 received 60, SO-1 shipped 30, SO-5 shipped 12 → on hand
      138; SO-2 holds 50; SO-3 and SO-4 cancelled theirs; nothing waits or is on order (PO-1 is a
      draft).
    - TAPE-48 @ LON: opening 30, SO-1 took 12 and shipped 8, SO-3 got 18 and waited for 12, PO-3's
      first delivery brought 6 which a release gave SO-3 → on hand 28, allocated 4 + 24, waiting
      6; on order PO-2's 12 + PO-3's 14 outstanding (PO-5 was cancelled, elsewhere).
    - GLUE-250 @ LON: 5 in, 5 damaged → 0; SO-2 waits for 10 (SO-4's 3 were cancelled); on order
      PO-2's 24 + PO-3's 6.
    - NUT-M8 @ LON: counted 400, 3 lost → 397, nothing else.
    - BOLT-M8 @ MAN: counted 25, all given to SO-6, which waits for 15 more; PO-7's second delivery
      then landed 40 that nobody has released yet → on hand 65.
    - NUT-M8 @ MAN: PO-7 delivered 120 then 80 of 500 → on hand 200, 300 on order.
    - DRILL-18V @ MAN: no level yet; SO-6 and SO-8 wait for 2 + 3, PO-6 and PO-8 bring 6 + 4.
    - GLUE-250 @ MAN: no level yet; SO-6 waits for 5.
    - DRILL-18V @ LON (draft PO-1 only) and TAPE-48 @ MAN (cancelled SO-7 and PO-5 only) get no
      level: nothing waits there and nothing is on order.
    """
    books = OldBooks(apps)
    lon = books.create("inventory.Warehouse", code="LON", name="London")
    man = books.create("inventory.Warehouse", code="MAN", name="Manchester")
    bolt = books.create("inventory.Product", sku="BOLT-M8", name="Hex bolt M8 × 40", unit="each")
    nut = books.create("inventory.Product", sku="NUT-M8", name="Hex nut M8", unit="each")
    tape = books.create("inventory.Product", sku="TAPE-48", name="Packing tape 48 mm", unit="roll")
    glue = books.create("inventory.Product", sku="GLUE-250", name="Wood glue 250 ml", unit="tube")
    drill = books.create(
        "inventory.Product",
        sku="DRILL-18V",
        name="Cordless drill 18 V",
        service_level=Decimal("0.9800"),
    )

    def level(product, warehouse, **fields):
        return books.create("inventory.StockLevel", product=product, warehouse=warehouse, **fields)

    bolt_lon = level(bolt, lon, safety_stock=40)
    tape_lon = level(tape, lon)
    glue_lon = level(glue, lon, safety_stock=12, reorder_point=20)
    nut_lon = level(nut, lon)
    bolt_man = level(bolt, man)
    nut_man = level(nut, man)
    books.create(
        "inventory.SafetyStockChange",
        level=glue_lon,
        old_value=0,
        new_value=12,
        reason="Two weeks of demand",
        changed_by=books.user,
    )

    books.movement(bolt_lon, "count", 120, "Opening count")
    books.movement(tape_lon, "adjustment", 30, "Opening stock")
    books.movement(glue_lon, "adjustment", 5, "Opening stock")
    books.movement(glue_lon, "adjustment", -5, "Damaged in the racking")
    books.movement(nut_lon, "count", 400, "Opening count")
    books.movement(nut_lon, "adjustment", -3, "Lost in picking")
    books.movement(bolt_man, "count", 25, "Opening count")

    # Suppliers and their terms.
    acme = books.create("suppliers.Supplier", name="Acme Fasteners", email="orders@acme.example")
    tapeline = books.create("suppliers.Supplier", name="Tapeline Ltd", ordering_cost=Decimal("45"))
    power = books.create("suppliers.Supplier", name="PowerTools Co", phone="+44 161 496 0000")
    for supplier, product, cost, lead, moq, pack, preferred in (
        (acme, bolt, "0.12", 5, 100, 50, True),
        (acme, nut, "0.05", 5, 500, 100, True),
        (acme, glue, "3.50", 10, 12, 12, False),
        (tapeline, tape, "1.80", 3, 6, 6, True),
        (tapeline, glue, "3.20", 7, 12, 12, True),
        (power, drill, "89.00", 14, 1, 1, True),
    ):
        books.create(
            "suppliers.SupplierProduct",
            supplier=supplier,
            product=product,
            supplier_sku=f"{supplier.name[:3].upper()}-{product.sku}",
            unit_cost=Decimal(cost),
            lead_time_days=lead,
            min_order_qty=moq,
            pack_size=pack,
            is_preferred=preferred,
        )

    def purchase_order(supplier, warehouse, status, lines, **fields):
        po = books.create(
            "suppliers.PurchaseOrder",
            supplier=supplier,
            warehouse=warehouse,
            status=status,
            expected_date=dt.date(2026, 3, 12),
            created_by=books.user,
            **fields,
        )
        return po, [
            books.create(
                "suppliers.PurchaseOrderLine",
                purchase_order=po,
                product=product,
                quantity_ordered=quantity,
                unit_cost=Decimal("1.00"),
            )
            for product, quantity in lines
        ]

    sent = {"sent_at": local(1, 9), "sent_by": books.user}
    purchase_order(acme, lon, "draft", [(bolt, 200), (drill, 10)])  # PO-1
    purchase_order(tapeline, lon, "sent", [(glue, 24), (tape, 12)], **sent)  # PO-2
    po3, (po3_tape, _po3_glue) = purchase_order(
        tapeline, lon, "partially_received", [(tape, 20), (glue, 6)], **sent
    )
    po4, (po4_bolt,) = purchase_order(
        acme, lon, "received", [(bolt, 60)], closed_at=local(1, 14), **sent
    )
    purchase_order(  # PO-5
        tapeline,
        man,
        "cancelled",
        [(tape, 50)],
        cancel_reason="Supplier out of stock",
        cancelled_by=books.user,
        closed_at=local(2, 9),
    )
    purchase_order(power, man, "sent", [(drill, 6)], **sent)  # PO-6
    po7, (po7_nut, po7_bolt) = purchase_order(
        acme, man, "partially_received", [(nut, 500), (bolt, 40)], **sent
    )
    purchase_order(power, man, "sent", [(drill, 4)], **sent)  # PO-8

    books.receive(po4, "po4-delivery-1", [(po4_bolt, bolt_lon, 60)])
    books.receive(po7, "po7-delivery-1", [(po7_nut, nut_man, 120)])

    # Orders. Allocation history entries are (quantity, kind, extra fields).
    def placed(quantity, number):
        return (quantity, "placement", {"reason": f"Free stock when SO-{number:06d} was placed"})

    def ship(quantity):
        return (-quantity, "shipment", {"reason": "Shipped"})

    def cancel(quantity, reason):
        return (-quantity, "cancellation", {"reason": reason})

    northwind = books.create("orders.Customer", name="Northwind Traders", email="buy@nw.example")
    fabrikam = books.create("orders.Customer", name="Fabrikam Ltd")
    contoso = books.create("orders.Customer", name="Contoso Retail", email="ops@contoso.example")

    so1 = books.order(northwind, lon, placed_at=local(2, 10), status="ready")
    so2 = books.order(fabrikam, lon, placed_at=local(2, 11), status="backordered", priority=2)
    so3 = books.order(contoso, lon, placed_at=local(3, 10), status="backordered")
    so4 = books.order(
        northwind,
        lon,
        placed_at=local(3, 11),
        status="cancelled",
        priority=0,
        cancelled_at=local(3, 15),
        cancel_reason="Customer changed supplier",
        cancelled_by=books.user,
    )
    so5 = books.order(contoso, lon, placed_at=local(4, 9), status="shipped", priority=3)
    so6 = books.order(fabrikam, man, placed_at=local(4, 10), status="backordered")
    so7 = books.order(
        northwind,
        man,
        placed_at=local(4, 11),
        status="cancelled",
        cancelled_at=local(4, 12),
        cancel_reason="Ordered by mistake",
        cancelled_by=books.user,
    )
    so8 = books.order(contoso, man, placed_at=local(4, 12), status="backordered", priority=2)

    books.line(so1, bolt, 30, history=[placed(30, so1.pk), ship(30)], shipped=30)
    books.line(so1, tape, 12, history=[placed(12, so1.pk), ship(8)], shipped=8)
    books.line(so2, bolt, 50, history=[placed(50, so2.pk)])
    books.line(so2, glue, 10)
    so3_tape = books.line(so3, tape, 30, history=[placed(18, so3.pk)])
    books.line(
        so3,
        bolt,
        15,
        history=[placed(15, so3.pk), cancel(15, "Not needed any more")],
        cancelled=15,
        cancel_reason="Not needed any more",
        cancelled_at=local(3, 16),
        cancelled_by=books.user,
    )
    gone = {"cancel_reason": so4.cancel_reason, "cancelled_at": so4.cancelled_at}
    books.line(
        so4,
        bolt,
        10,
        history=[placed(10, so4.pk), cancel(10, so4.cancel_reason)],
        cancelled=10,
        **gone,
    )
    books.line(so4, glue, 3, cancelled=3, **gone)
    books.line(
        so5,
        bolt,
        20,
        history=[placed(20, so5.pk), ship(12), cancel(8, "Rest not wanted")],
        shipped=12,
        cancelled=8,
        cancel_reason="Rest not wanted",
        cancelled_at=local(4, 16),
    )
    books.line(so6, bolt, 40, history=[placed(25, so6.pk)])
    books.line(so6, drill, 2)
    books.line(so6, glue, 5)
    books.line(
        so7, tape, 4, cancelled=4, cancel_reason="Ordered by mistake", cancelled_at=local(4, 12)
    )
    books.line(so8, drill, 3)

    # The stock those orders moved, in the order it happened.
    bolt_lon.allocated = 50
    bolt_lon.save(update_fields=["allocated"])
    books.movement(bolt_lon, "shipment", -30, "Shipped to customer", f"SO-{so1.pk:06d}")
    books.movement(bolt_lon, "shipment", -12, "Shipped to customer", f"SO-{so5.pk:06d}")
    tape_lon.allocated = 4 + 18
    tape_lon.save(update_fields=["allocated"])
    books.movement(tape_lon, "shipment", -8, "Shipped to customer", f"SO-{so1.pk:06d}")
    bolt_man.allocated = 25
    bolt_man.save(update_fields=["allocated"])

    # PO-3's first delivery lands and is released to the one waiting tape line.
    tape_delivery = books.receive(po3, "po3-delivery-1", [(po3_tape, tape_lon, 6)])
    release = books.create(
        "orders.Release",
        warehouse=lon,
        shipment=tape_delivery,
        note="Tape delivery",
        created_by=books.user,
    )
    books.create(
        "orders.Allocation",
        line=so3_tape,
        quantity=6,
        kind="release",
        release=release,
        shipment=tape_delivery,
        reason="Queue position 1",
        created_by=books.user,
    )
    so3_tape.quantity_allocated += 6
    so3_tape.save(update_fields=["quantity_allocated"])
    tape_lon.allocated += 6
    tape_lon.save(update_fields=["allocated"])

    # PO-7's second delivery lands at MAN while SO-6 still waits: not released yet.
    books.receive(po7, "po7-delivery-2", [(po7_nut, nut_man, 80), (po7_bolt, bolt_man, 40)])

    # The stored demand of those orders: (product, warehouse, day) → lines, lines filled at
    # placement, units ordered, units cancelled, units placement could not give.
    demand = {
        (bolt, lon, 2): (2, 2, 80, 0, 0),
        (tape, lon, 2): (1, 1, 12, 0, 0),
        (glue, lon, 2): (1, 0, 10, 0, 10),
        (tape, lon, 3): (1, 0, 30, 0, 12),
        (bolt, lon, 3): (2, 2, 25, 25, 0),
        (glue, lon, 3): (1, 0, 3, 3, 3),
        (bolt, lon, 4): (1, 1, 20, 8, 0),
        (bolt, man, 4): (1, 0, 40, 0, 15),
        (drill, man, 4): (2, 0, 5, 0, 5),
        (glue, man, 4): (1, 0, 5, 0, 5),
        (tape, man, 4): (1, 0, 4, 4, 4),
    }
    for (product, warehouse, day), counters in demand.items():
        lines, filled, ordered, cancelled, backordered = counters
        books.create(
            "orders.DailyDemand",
            product=product,
            warehouse=warehouse,
            day=dt.date(2026, 3, day),
            lines=lines,
            lines_filled=filled,
            units_ordered=ordered,
            units_cancelled=cancelled,
            units_backordered=backordered,
        )


def test_existing_books_migrate_to_counters_that_check_stock_accepts(old_apps):
    write_old_books(old_apps)
    before = row_counts(old_apps)
    assert level_count(old_apps) == len(EXPECTED_LEVELS) - len(CREATED_LEVELS)

    # With the columns added but not filled yet, the counters and the levels they need are all
    # that is wrong: the books were consistent before, and check_stock does see counters that
    # disagree with their sources and pairs whose level the fill migrations must create.
    migrate([("inventory", "0005_stocklevel_counters")])
    # The stored plan's check waits for the planning tables, which come later.
    found_then = [found for check in CHECKS if check.name != "plan" for found in check.run()]
    assert {(found.check, found.subject, found.found) for found in found_then} == {
        ("level_missing", "DRILL-18V @ MAN", "none"),
        ("level_missing", "GLUE-250 @ MAN", "none"),
        ("level_backordered", "BOLT-M8 @ MAN", "backordered 0"),
        ("level_backordered", "GLUE-250 @ LON", "backordered 0"),
        ("level_backordered", "TAPE-48 @ LON", "backordered 0"),
        ("level_on_order", "GLUE-250 @ LON", "on order 0"),
        ("level_on_order", "NUT-M8 @ MAN", "on order 0"),
        ("level_on_order", "TAPE-48 @ LON", "on order 0"),
    }

    migrate(latest_state())

    assert_clean()
    assert levels_now() == EXPECTED_LEVELS
    assert row_counts(current_apps) == before
    # The story itself covers every order and purchase order status.
    SalesOrder = current_apps.get_model("orders", "SalesOrder")
    assert set(SalesOrder.objects.values_list("status", flat=True)) == {
        "backordered",
        "ready",
        "shipped",
        "cancelled",
    }
    PurchaseOrder = current_apps.get_model("suppliers", "PurchaseOrder")
    assert set(PurchaseOrder.objects.values_list("status", flat=True)) == {
        "draft",
        "sent",
        "partially_received",
        "received",
        "cancelled",
    }


def test_books_without_orders_or_purchase_orders_migrate_cleanly(old_apps):
    books = OldBooks(old_apps)
    lon = books.create("inventory.Warehouse", code="LON", name="London")
    bolt = books.create("inventory.Product", sku="BOLT-M8", name="Hex bolt M8 × 40")
    books.create("inventory.Product", sku="NUT-M8", name="Hex nut M8")  # never stocked
    bolt_lon = books.create("inventory.StockLevel", product=bolt, warehouse=lon, safety_stock=10)
    books.movement(bolt_lon, "count", 75, "Opening count")
    books.create(
        "inventory.StockLevel",
        product=bolt,
        warehouse=books.create("inventory.Warehouse", code="MAN", name="Manchester"),
    )
    before = row_counts(old_apps)

    migrate(latest_state())

    assert_clean()
    assert levels_now() == {
        ("BOLT-M8", "LON"): (75, 0, 10, 0, 0),
        ("BOLT-M8", "MAN"): (0, 0, 0, 0, 0),
    }
    assert row_counts(current_apps) == before


def test_the_counters_migrate_back_and_forward_again(old_apps):
    write_old_books(old_apps)
    before = row_counts(old_apps)
    migrate(latest_state())
    columns, constraints = stock_level_schema()
    assert {"backordered", "on_order"} <= columns
    assert constraints >= COUNTER_CONSTRAINTS

    migrate(OLD_STATE)

    columns, constraints = stock_level_schema()
    assert not {"backordered", "on_order"} & columns
    assert not constraints & COUNTER_CONSTRAINTS
    # The data migrations reverse as no-ops: the levels they created stay, with everything else.
    assert row_counts(old_apps) == before
    assert level_count(old_apps) == len(EXPECTED_LEVELS)
    StockLevel = old_apps.get_model("inventory", "StockLevel")
    assert {
        (level.product.sku, level.warehouse.code): (
            level.on_hand,
            level.allocated,
            level.safety_stock,
        )
        for level in StockLevel.objects.select_related("product", "warehouse")
    } == {key: values[:3] for key, values in EXPECTED_LEVELS.items()}

    migrate(latest_state())

    assert_clean()
    assert levels_now() == EXPECTED_LEVELS
