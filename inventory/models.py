"""Products, warehouses, stock levels and the append-only stock ledger."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse


class Warehouse(models.Model):
    code = models.CharField(max_length=10, unique=True, help_text="Short code, e.g. LON.")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} – {self.name}"


class Product(models.Model):
    sku = models.CharField("SKU", max_length=40)
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=20, default="each")
    is_active = models.BooleanField(default=True)
    # Per-product override of the service level used for safety stock suggestions (e.g. 0.98).
    service_level = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.9999"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                Lower("sku"),
                name="product_sku_unique_ci",
                violation_error_message="This SKU is already in use.",
            ),
            models.CheckConstraint(condition=~Q(sku=""), name="product_sku_not_empty"),
        ]
        indexes = [
            models.Index(fields=["name"], name="product_name_idx"),
            # The stock list's order: walked in SKU order, a page needs only its own levels.
            models.Index(fields=["sku"], name="product_sku_idx"),
        ]

    def __str__(self):
        return f"{self.sku} – {self.name}"

    def get_absolute_url(self):
        return reverse("inventory:product-detail", args=[self.pk])


class StockLevel(models.Model):
    """One row per product × warehouse. on_hand and allocated change only through services."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.BigIntegerField(default=0)
    allocated = models.BigIntegerField(default=0)
    safety_stock = models.BigIntegerField(default=0)
    # A manual reorder point replaces the computed one when set.
    reorder_point = models.BigIntegerField(null=True, blank=True)
    # Stored counters of what other apps owe this level, so stock pages and planning read one row
    # instead of summing order and purchase order lines. The orders services keep `backordered`
    # (units waiting on open order lines) and the suppliers services keep `on_order` (units
    # outstanding on open purchase order lines), each in the transaction that changes the lines
    # and under this level's row lock; check_stock verifies both against their sources.
    backordered = models.BigIntegerField(default=0)
    on_order = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["product__sku", "warehouse__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], name="stocklevel_one_per_product_warehouse"
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0), name="stocklevel_allocated_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="stocklevel_allocated_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="stocklevel_on_hand_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="stocklevel_safety_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__isnull=True) | Q(reorder_point__gte=0),
                name="stocklevel_reorder_point_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(backordered__gte=0), name="stocklevel_backordered_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(on_order__gte=0), name="stocklevel_on_order_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["warehouse", "product"], name="stocklevel_wh_product_idx"),
            # "Below safety stock" (home count and stock filter) looks only at levels with a
            # safety stock set, a few percent of them; on_hand and allocated are left out of the
            # index so the frequent stock updates stay HOT.
            models.Index(
                fields=["warehouse"],
                condition=Q(safety_stock__gt=0),
                name="stocklevel_safety_set_idx",
            ),
            # Levels with a queue (the backorders filter, releasable counts): a small share.
            models.Index(
                fields=["warehouse"],
                condition=Q(backordered__gt=0),
                name="stocklevel_waiting_idx",
            ),
        ]
        permissions = [
            ("adjust_stock", "Can adjust and count stock"),
            ("transfer_stock", "Can transfer stock between warehouses"),
            ("set_safety_stock", "Can set safety stock"),
            ("view_reorder_dashboard", "Can see the reorder dashboard"),
        ]

    def __str__(self):
        return f"{self.product.sku} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SHIPMENT = "shipment", "Shipment"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT = "count", "Count"
    TRANSFER = "transfer", "Transfer"


class StockMovement(models.Model):
    """Append-only ledger: the sum of a level's movements is its on_hand."""

    level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    quantity = models.BigIntegerField(help_text="Signed: positive into stock, negative out.")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    # The document that caused the movement, by its number (SO-000123, PO-000045, SH-000007, TR-…).
    reference = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity=0), name="stockmovement_quantity_non_zero"
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="stockmovement_balance_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["level", "-id"], name="stockmovement_level_idx")]
        # Guards the history pages, which gather every domain's records (not only the ledger).
        permissions = [("view_audit", "Can see the audit trail (history of products and orders)")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity:+d} ({self.level})"


class SafetyStockChange(models.Model):
    """Who changed a level's safety stock, from what, to what, and why."""

    level = models.ForeignKey(
        StockLevel, on_delete=models.PROTECT, related_name="safety_stock_changes"
    )
    old_value = models.BigIntegerField()
    new_value = models.BigIntegerField()
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(new_value__gte=0), name="safetystockchange_new_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.level}: {self.old_value} → {self.new_value}"
