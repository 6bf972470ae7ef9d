"""Fill StockLevel.backordered from the order lines already in the database.

From now on the orders services keep the counter; this sets it once for existing data: per
product × warehouse, the units waiting on order lines (ordered − allocated − shipped − cancelled).
Levels that do not exist yet for a waiting line are created, as the services would have.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    StockLevel = apps.get_model("inventory", "StockLevel")
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    # The model ordering (by id) would otherwise join the DISTINCT and give one pair per line.
    pairs = waiting.order_by().values_list("product_id", "order__warehouse_id").distinct()
    StockLevel.objects.bulk_create(
        [StockLevel(product_id=p, warehouse_id=w) for p, w in pairs], ignore_conflicts=True
    )
    total = (
        waiting.filter(product_id=OuterRef("product_id"), order__warehouse_id=OuterRef("warehouse_id"))
        .order_by()
        .values("product_id")
        .annotate(units=Sum("quantity_backordered"))
        .values("units")
    )
    StockLevel.objects.update(backordered=Coalesce(Subquery(total), Value(0)))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_dailydemand_backfill"),
        ("inventory", "0005_stocklevel_counters"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
