"""Planning's writes: the stored plan (`plan`), and draft purchase orders from suggestions and
applying suggested safety stock (`suggestions`), each through the owning app's services."""

from planning.plan import (
    plan_current,
    plan_invalidate,
    plan_refresh,
    plan_refresh_all,
)
from planning.services.suggestions import (
    DraftResult,
    purchase_orders_draft_from_suggestions,
    safety_stock_apply_suggested,
    suggestion_reason,
)

__all__ = [
    "DraftResult",
    "plan_current",
    "plan_invalidate",
    "plan_refresh",
    "plan_refresh_all",
    "purchase_orders_draft_from_suggestions",
    "safety_stock_apply_suggested",
    "suggestion_reason",
]
