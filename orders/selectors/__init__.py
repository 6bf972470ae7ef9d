"""Reads about orders, one module per part: the backorder queue (`queue`), ETAs for waiting lines
(`eta`), demand history (`demand`), orders and the products they name (`orders`), and one release
(`release`)."""

from .demand import demand_by_day, demand_history
from .eta import Eta, line_etas
from .orders import (
    open_orders,
    order_allocations,
    orders_listed,
    products_by_sku,
    products_matching,
)
from .queue import (
    QUEUE_ORDER,
    QueueRow,
    backorder_age_totals,
    backorder_lines,
    backorder_queue,
    backorder_queue_rows,
    backorder_queues,
    backordered_by_product,
    backordered_subquery,
    queue_position,
    waiting_lines,
)
from .release import (
    RELEASE_ORDER,
    release_allocation_lines,
    release_allocation_values,
    release_allocations,
    release_ready_orders,
    release_summary,
)

__all__ = [
    "QUEUE_ORDER",
    "RELEASE_ORDER",
    "Eta",
    "QueueRow",
    "backorder_age_totals",
    "backorder_lines",
    "backorder_queue",
    "backorder_queue_rows",
    "backorder_queues",
    "backordered_by_product",
    "backordered_subquery",
    "demand_by_day",
    "demand_history",
    "line_etas",
    "open_orders",
    "order_allocations",
    "orders_listed",
    "products_by_sku",
    "products_matching",
    "queue_position",
    "release_allocation_lines",
    "release_allocation_values",
    "release_allocations",
    "release_ready_orders",
    "release_summary",
    "waiting_lines",
]
