"""What needs attention today, counted across stock, orders and purchasing for the home page."""

import datetime as dt

from django.db.models import Count, ExpressionWrapper, F, IntegerField, Min, Q
from django.utils import timezone

from inventory.models import StockLevel
from orders.models import OrderLine, SalesOrder, SalesOrderStatus
from suppliers.selectors import inbound_purchase_orders


def attention_summary(*, today: dt.date | None = None) -> dict:
    """What needs attention today, as counts for the home page (a fixed handful of queries)."""
    today = today or timezone.localdate()
    # Counted on the waiting lines' partial index alone; the oldest comes from the orders, since
    # an order waits for stock exactly while one of its lines has a backorder (status_for), which
    # the (status, placed_at) index answers at once instead of joining every waiting line.
    waiting = {
        "lines": OrderLine.objects.filter(quantity_backordered__gt=0).count(),
        "oldest": SalesOrder.objects.filter(status=SalesOrderStatus.BACKORDERED).aggregate(
            oldest=Min("placed_at")
        )["oldest"],
    }
    levels = StockLevel.objects.annotate(
        free=ExpressionWrapper(F("on_hand") - F("allocated"), output_field=IntegerField())
    )
    # Both counts of inbound orders in one pass over the open orders.
    inbound = (
        inbound_purchase_orders(today=today)
        .order_by()
        .aggregate(
            today=Count("pk", filter=Q(expected_date=today)),
            overdue=Count("pk", filter=Q(expected_date__lt=today)),
        )
    )
    return {
        "backordered_lines": waiting["lines"],
        "oldest_waiting": waiting["oldest"],
        "below_safety_stock": levels.filter(safety_stock__gt=0, free__lt=F("safety_stock")).count(),
        "expected_today": inbound["today"],
        "overdue": inbound["overdue"],
        "ready_to_ship": SalesOrder.objects.filter(status=SalesOrderStatus.READY).count(),
        # The levels' stored queue counter (stocklevel_waiting_idx), kept by the orders services.
        "releasable": levels.filter(free__gt=0, backordered__gt=0).count(),
    }
