"""Every write to orders: placing, cancelling, shipping and releasing stock to the queue.

Split by flow: `placement` (place, cancel), `fulfilment` (ship), `release` (propose, confirm).
Lock order everywhere: StockLevel rows (primary-key order) → SalesOrder rows (primary-key order).
"""

from .fulfilment import order_ship
from .placement import (
    CancelResult,
    OrderLineInput,
    customer_create,
    order_cancel,
    order_line_cancel,
    order_place,
)
from .release import (
    ProductRelease,
    ReleaseDecision,
    ReleaseLineProposal,
    ReleasePlan,
    ReleaseResult,
    StalePlanError,
    release_confirm,
    release_propose,
)

__all__ = [
    "CancelResult",
    "OrderLineInput",
    "ProductRelease",
    "ReleaseDecision",
    "ReleaseLineProposal",
    "ReleasePlan",
    "ReleaseResult",
    "StalePlanError",
    "customer_create",
    "order_cancel",
    "order_line_cancel",
    "order_place",
    "order_ship",
    "release_confirm",
    "release_propose",
]
