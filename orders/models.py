"""Customers, sales orders, allocations (with their history) and releases."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse

from common.numbers import document_number
from inventory.models import Product, Warehouse
from suppliers.models import Shipment


class Customer(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="customer_name_unique_ci")]

    def __str__(self):
        return self.name


class Priority(models.IntegerChoices):
    LOW = 0, "Low"
    NORMAL = 1, "Normal"
    HIGH = 2, "High"
    URGENT = 3, "Urgent"


class SalesOrderStatus(models.TextChoices):
    BACKORDERED = "backordered", "Waiting for stock"
    READY = "ready", "Ready to ship"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


OPEN_ORDER_STATUSES = (SalesOrderStatus.BACKORDERED, SalesOrderStatus.READY)


class SalesOrder(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="sales_orders")
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(
        max_length=20, choices=SalesOrderStatus.choices, default=SalesOrderStatus.BACKORDERED
    )
    customer_reference = models.CharField(max_length=60, blank=True)
    placed_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            # The backorder queue order within a warehouse: priority (high first), placed time, id.
            models.Index(
                F("warehouse"),
                F("priority").desc(),
                F("placed_at"),
                F("id"),
                name="salesorder_queue_idx",
            ),
            models.Index(fields=["status", "placed_at"], name="salesorder_status_placed_idx"),
            models.Index(fields=["customer", "-placed_at"], name="salesorder_customer_idx"),
            # The order list, newest first: read backwards, it stops after one page.
            models.Index(fields=["placed_at", "id"], name="salesorder_placed_idx"),
            # Orders cancelled in a window (the backorder history), among the few cancelled.
            models.Index(
                fields=["cancelled_at"],
                condition=Q(cancelled_at__isnull=False),
                name="salesorder_cancelled_idx",
            ),
            # The orders waiting for stock per warehouse: finding which product × warehouse has a
            # queue joins the waiting lines to these few orders, read from the index alone.
            models.Index(
                fields=["warehouse", "id"],
                condition=Q(status=SalesOrderStatus.BACKORDERED),
                name="salesorder_waiting_idx",
            ),
        ]
        permissions = [
            ("ship_salesorder", "Can ship orders"),
            ("cancel_salesorder", "Can cancel orders and order lines"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("orders:order-detail", args=[self.pk])

    @property
    def number(self) -> str:
        return document_number("SO", self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES


class OrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity_ordered = models.BigIntegerField()
    quantity_allocated = models.BigIntegerField(default=0)
    quantity_shipped = models.BigIntegerField(default=0)
    # What the customer no longer wants (a cancelled order or line); never allocated or shipped.
    quantity_cancelled = models.BigIntegerField(default=0)
    # Stored so the queue can be found through a small partial index instead of a scan.
    quantity_backordered = models.GeneratedField(
        expression=F("quantity_ordered")
        - F("quantity_allocated")
        - F("quantity_shipped")
        - F("quantity_cancelled"),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )
    cancel_reason = models.CharField(max_length=255, blank=True)
    # When and by whom the line was last cancelled (in full or its open rest); the allocation
    # history records only what a cancellation freed, not a line that was merely waiting.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="orderline_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_allocated__gte=0), name="orderline_allocated_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_shipped__gte=0), name="orderline_shipped_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_cancelled__gte=0), name="orderline_cancelled_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity_ordered__gte=F("quantity_allocated")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="orderline_allocated_shipped_within_ordered",
            ),
            models.UniqueConstraint(fields=["order", "product"], name="orderline_one_per_product"),
        ]
        indexes = [
            models.Index(
                fields=["product", "order"],
                condition=Q(quantity_backordered__gt=0),
                name="orderline_waiting_idx",
            ),
            models.Index(
                fields=["product", "order"],
                condition=Q(quantity_allocated__gt=0),
                name="orderline_allocated_idx",
            ),
            # The few lines with cancelled units: the dashboard's backorder history finds the
            # cancellations of its window among them.
            models.Index(
                fields=["order"],
                condition=Q(quantity_cancelled__gt=0),
                name="orderline_cancelled_idx",
            ),
        ]

    def __str__(self):
        return f"{self.order.number} {self.product.sku} × {self.quantity_ordered}"

    @property
    def quantity_open(self) -> int:
        """Still to be shipped: allocated plus backordered."""
        return self.quantity_ordered - self.quantity_shipped - self.quantity_cancelled


class Release(models.Model):
    """A reviewed batch of allocations from arrived or freed stock to waiting lines."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="releases")
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="releases"
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return document_number("REL", self.pk)


class AllocationKind(models.TextChoices):
    PLACEMENT = "placement", "Allocated when placed"
    RELEASE = "release", "Released"
    SHIPMENT = "shipment", "Shipped"
    CANCELLATION = "cancellation", "Freed by cancellation"


class Allocation(models.Model):
    """History of stock committed to (positive) or taken off (negative) an order line.

    The sum of a line's rows equals its quantity_allocated.
    """

    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=AllocationKind.choices)
    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="allocation_quantity_non_zero")
        ]
        indexes = [
            models.Index(fields=["line", "created_at"], name="allocation_line_idx"),
            # Cancellations in a window (the backorder history), among every allocation record.
            # It leads with the line so that a line's own cancellations are found through it
            # too: with the line first, no estimate can make a per-line look-up scan it whole.
            models.Index(
                fields=["line", "created_at"],
                condition=Q(kind="cancellation"),
                name="allocation_cancellation_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity:+d} → {self.line}"


class DailyDemand(models.Model):
    """Order lines summed per product × warehouse × local day the order was placed.

    Kept by the order services in the transaction that changes the lines (placing adds a row's
    worth, cancelling adds to `units_cancelled`; shipping and releasing change nothing here), so
    the reorder dashboard reads a few rows per level instead of every order line of its window.
    `manage.py check_stock` recomputes it from the lines and reports any difference.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    lines = models.BigIntegerField(default=0)
    # Lines that got their whole quantity the moment they were placed (the fill rate).
    lines_filled = models.BigIntegerField(default=0)
    units_ordered = models.BigIntegerField(default=0)
    units_cancelled = models.BigIntegerField(default=0)
    # What placement could not allocate: the backorder the day's orders created.
    units_backordered = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse", "day"], name="dailydemand_one_per_level_day"
            ),
        ]
        indexes = [
            # The dashboard reads a window of days for every level: from the index alone.
            # (Every column a key column: SQLite has no INCLUDE.)
            models.Index(
                fields=[
                    "day",
                    "product",
                    "warehouse",
                    "lines",
                    "lines_filled",
                    "units_ordered",
                    "units_cancelled",
                    "units_backordered",
                ],
                name="dailydemand_day_idx",
            ),
        ]

    def __str__(self):
        return f"{self.product_id} @ {self.warehouse_id} {self.day}: {self.units}"

    @property
    def units(self) -> int:
        """Demand: units ordered that the customers still want."""
        return self.units_ordered - self.units_cancelled
