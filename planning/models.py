"""The stored plan: what the reorder screen needs of each stock level, in one table.

Working out a reorder point needs the level's demand over the window (summed from the stored
daily demand) and the supply term its product is bought on.
Read for the whole catalogue on every page view that was most of the dashboard's time, so each
level that can need ordering keeps those inputs here, written by `planning.plan` and kept current
by `planning.receivers`:
- for the levels an order touched, in the order service's own transaction
  (`orders.signals.demand_changed`), so a new backorder is on the dashboard at once;
- for the products whose terms or supplier changed (`suppliers.signals.supply_changed` for a
  bulk import, and the models' save and delete signals);
- for levels given a safety stock or a manual reorder point
  (`inventory.signals.level_settings_changed`);
- for the levels of a product or warehouse saved (its active flag);
- for every level once a day, when the window moves on, and when the planning settings change
  (the first read, or `manage.py plan_refresh` run by a scheduler at night).
The row's copy of the level's counters, safety stock and manual reorder point is kept by a
database trigger on every update of the level (migration 0002). `manage.py check_stock` compares
the plan with a recomputation and reports every row that differs.
"""

from __future__ import annotations

from django.db import models

from inventory.models import Product, StockLevel, Warehouse
from suppliers.models import Supplier, SupplierProduct


class LevelPlan(models.Model):
    """One stock level's planning inputs as of `as_of` (the last day of its demand window)."""

    level = models.OneToOneField(
        StockLevel, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    as_of = models.DateField()
    # The level's product and warehouse, and a copy of its counters and settings kept by a
    # database trigger on every update of the level (migration 0002), so the screen reads this
    # table alone.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    on_hand = models.BigIntegerField(default=0)
    allocated = models.BigIntegerField(default=0)
    backordered = models.BigIntegerField(default=0)
    on_order = models.BigIntegerField(default=0)
    safety_stock = models.BigIntegerField(default=0)
    reorder_point = models.BigIntegerField(null=True, blank=True)
    # Σx and Σx² of the net units ordered (ordered − cancelled) on each day of the window, and
    # the number of days with any; a day without orders adds nothing.
    demand_units = models.BigIntegerField(default=0)
    demand_squares = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    demand_days = models.IntegerField(default=0)
    # Mean and sample variance of the daily demand over every day of the window.
    daily_mean = models.FloatField(default=0.0)
    daily_variance = models.FloatField(default=0.0)
    # The term the product is bought on (the active preferred supplier's, else the quickest,
    # cheapest, then by name) with the numbers the screen reads from it.
    term = models.ForeignKey(
        SupplierProduct, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_time_days = models.IntegerField(null=True, blank=True)
    pack_size = models.IntegerField(null=True, blank=True)
    min_order_qty = models.IntegerField(null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # What the screen compares the projected stock with: the lead-time demand DL = ⌈d × L⌉ (the
    # reorder point is DL + the safety stock set on the level, unless a manual one is set), the
    # review period's demand RD = ⌈d × R⌉ that an order must also cover, and whether product and
    # warehouse are both active.
    lead_demand = models.BigIntegerField(default=0)
    review_demand = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "level plan"

    def __str__(self) -> str:
        return f"Plan of level {self.level_id} as of {self.as_of}"


class PlanRefresh(models.Model):
    """The last refresh of every level's plan (one row): the plan is current for `day`."""

    day = models.DateField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField(default=0.0)
    levels = models.IntegerField(default=0)
    # The settings the plan was computed with (review period, window): a change
    # makes the next read refresh every level.
    settings_key = models.CharField(max_length=100, default="")

    class Meta:
        verbose_name = "plan refresh"

    def __str__(self) -> str:
        return f"Plan refreshed for {self.day}"
