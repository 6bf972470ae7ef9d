"""Fill DailyDemand from the order lines already in the database."""

from django.db import migrations


def backfill(apps, schema_editor):
    from orders.services.demand import daily_demand_rebuild

    daily_demand_rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_dailydemand")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
