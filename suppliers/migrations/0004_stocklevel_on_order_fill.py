"""Fill StockLevel.on_order from the purchase order lines already in the database.

From now on the suppliers services keep the counter; this sets it once for existing data: per
product × warehouse, the units outstanding on lines of sent or partially received purchase orders
(ordered − received, never below 0). Missing levels are created, as the services would have.
"""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest

OPEN_STATUSES = ("sent", "partially_received")


def fill(apps, schema_editor):
    PurchaseOrderLine = apps.get_model("suppliers", "PurchaseOrderLine")
    StockLevel = apps.get_model("inventory", "StockLevel")
    open_lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_STATUSES, quantity_ordered__gt=F("quantity_received")
    )
    # The model ordering (by id) would otherwise join the DISTINCT and give one pair per line.
    pairs = open_lines.order_by().values_list("product_id", "purchase_order__warehouse_id").distinct()
    StockLevel.objects.bulk_create(
        [StockLevel(product_id=p, warehouse_id=w) for p, w in pairs], ignore_conflicts=True
    )
    total = (
        open_lines.filter(
            product_id=OuterRef("product_id"), purchase_order__warehouse_id=OuterRef("warehouse_id")
        )
        .order_by()
        .values("product_id")
        .annotate(units=Sum(Greatest(F("quantity_ordered") - F("quantity_received"), Value(0))))
        .values("units")
    )
    StockLevel.objects.update(on_order=Coalesce(Subquery(total), Value(0)))


class Migration(migrations.Migration):
    dependencies = [
        ("suppliers", "0003_audit_who"),
        ("inventory", "0005_stocklevel_counters"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
