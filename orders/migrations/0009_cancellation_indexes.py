"""Three small partial indexes through which the reorder dashboard's backorder history finds the
cancellations of its window: order lines with cancelled units, cancelled orders, and
cancellation records (by line, then time)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_bigint_quantities")]

    operations = [
        migrations.AddIndex(
            model_name="allocation",
            index=models.Index(
                condition=models.Q(("kind", "cancellation")),
                fields=["line", "created_at"],
                name="allocation_cancellation_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(
                condition=models.Q(("quantity_cancelled__gt", 0)),
                fields=["order"],
                name="orderline_cancelled_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(
                condition=models.Q(("cancelled_at__isnull", False)),
                fields=["cancelled_at"],
                name="salesorder_cancelled_idx",
            ),
        ),
    ]
