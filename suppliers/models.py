"""Suppliers, their supply terms, purchase orders and the shipments received against them."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from common.numbers import document_number
from inventory.models import Product, Warehouse


class Supplier(models.Model):
    name = models.CharField(max_length=200, unique=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    # What placing one order costs (admin, freight minimums); with a holding cost rate it gives
    # the EOQ shown beside reorder suggestions. Empty falls back to BACKSTOCK_ORDERING_COST.
    ordering_cost = models.DecimalField(
        "cost per order",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Cost of placing one purchase order, for the economic order quantity.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ordering_cost__isnull=True) | Q(ordering_cost__gte=0),
                name="supplier_ordering_cost_non_negative",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("suppliers:supplier-detail", args=[self.pk])


class SupplierProduct(models.Model):
    """A supplier's terms for one product."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="terms")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="supply_terms")
    supplier_sku = models.CharField("supplier SKU", max_length=60, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    lead_time_days = models.PositiveIntegerField(default=7)
    min_order_qty = models.PositiveIntegerField("minimum order quantity", default=1)
    pack_size = models.PositiveIntegerField(default=1)
    is_preferred = models.BooleanField("preferred", default=False)

    class Meta:
        ordering = ["product__sku", "supplier__name"]
        verbose_name = "supply term"
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "product"], name="supplierproduct_one_per_supplier_product"
            ),
            # At most one preferred supplier per product, so "grouped by preferred supplier" is well defined.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_preferred=True),
                name="supplierproduct_one_preferred_per_product",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="supplierproduct_unit_cost_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(min_order_qty__gte=1), name="supplierproduct_moq_positive"
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1), name="supplierproduct_pack_size_positive"
            ),
        ]
        indexes = [models.Index(fields=["product", "supplier"], name="supplierproduct_product_idx")]

    def __str__(self):
        return f"{self.supplier} – {self.product.sku}"


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


# Purchase orders whose outstanding quantities count as "on order".
OPEN_PO_STATUSES = (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED)


class PurchaseOrder(models.Model):
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    status = models.CharField(
        max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT
    )
    expected_date = models.DateField()
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "expected_date"], name="po_status_expected_idx"),
            models.Index(fields=["supplier", "status"], name="po_supplier_status_idx"),
        ]
        permissions = [
            ("send_purchaseorder", "Can send purchase orders"),
            ("cancel_purchaseorder", "Can cancel purchase orders"),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("suppliers:purchaseorder-detail", args=[self.pk])

    @property
    def number(self) -> str:
        return document_number("PO", self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PO_STATUSES


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="purchase_order_lines"
    )
    quantity_ordered = models.PositiveBigIntegerField()
    quantity_received = models.PositiveBigIntegerField(default=0)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="poline_one_per_product"
            ),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="poline_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0), name="poline_received_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="poline_unit_cost_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["product", "purchase_order"], name="poline_product_idx")]

    def __str__(self):
        return f"{self.purchase_order.number} {self.product.sku} × {self.quantity_ordered}"

    @property
    def outstanding(self) -> int:
        return max(0, self.quantity_ordered - self.quantity_received)


class Shipment(models.Model):
    """One inbound delivery received against a purchase order."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="shipments"
    )
    # The receive form carries a fresh key; a double submit or retry with the same key counts once.
    idempotency_key = models.CharField(max_length=64, unique=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="Delivery note or carrier reference."
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return document_number("SH", self.pk)


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["shipment", "purchase_order_line"], name="shipmentline_one_per_po_line"
            ),
        ]

    def __str__(self):
        return f"{self.shipment.number}: {self.quantity}"
