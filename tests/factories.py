"""factory-boy factories for every model. Stock quantities are set through services in tests that
care about the ledger; these factories only build rows."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from inventory.models import Product, StockLevel, Warehouse
from orders.models import Customer, OrderLine, Priority, SalesOrder
from suppliers.models import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"W{n:02d}")
    name = factory.LazyAttribute(lambda w: f"Warehouse {w.code}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class StockLevelFactory(factory.django.DjangoModelFactory):
    """An empty level; give it stock with inventory.services.stock_adjust so the ledger agrees."""

    class Meta:
        model = StockLevel

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"Supplier {n}")
    email = factory.LazyAttribute(lambda s: f"orders@{s.name.lower().replace(' ', '')}.example.com")


class SupplierProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProduct

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    supplier_sku = factory.LazyAttribute(lambda t: f"S-{t.product.sku}")
    unit_cost = Decimal("4.50")
    lead_time_days = 7
    min_order_qty = 1
    pack_size = 1
    is_preferred = False


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    """A draft purchase order; send and receive it through suppliers.services."""

    class Meta:
        model = PurchaseOrder

    supplier = factory.SubFactory(SupplierFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    expected_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    purchase_order = factory.SubFactory(PurchaseOrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity_ordered = 10
    unit_cost = Decimal("4.50")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.LazyAttribute(lambda c: f"buyer{c.name.split()[-1]}@example.com")


class SalesOrderFactory(factory.django.DjangoModelFactory):
    """A bare order row; place real orders with orders.services.order_place."""

    class Meta:
        model = SalesOrder

    customer = factory.SubFactory(CustomerFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    priority = Priority.NORMAL
    placed_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(SalesOrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity_ordered = 1
