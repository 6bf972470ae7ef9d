"""Releasing arrived or freed stock to the backorder queue as one reviewed batch (rule 4).

`release_propose` is read-only: it lays out, per product, which waiting lines would get how much in
queue order and why, and fingerprints the state it looked at (free stock and the queue). Staff
review and change the plan; `release_confirm` locks the stock levels, recomputes the fingerprint and
applies the reviewed decisions all together, or nothing at all if anything moved in between.

`plan` holds what both steps share, `propose` and `confirm` one step each.
"""

from .confirm import release_confirm
from .plan import (
    MAX_PRODUCTS,
    ProductRelease,
    ReleaseDecision,
    ReleaseLineProposal,
    ReleasePlan,
    ReleaseResult,
    StalePlanError,
)
from .propose import release_propose

__all__ = [
    "MAX_PRODUCTS",
    "ProductRelease",
    "ReleaseDecision",
    "ReleaseLineProposal",
    "ReleasePlan",
    "ReleaseResult",
    "StalePlanError",
    "release_confirm",
    "release_propose",
]
