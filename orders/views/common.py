"""Helpers shared by the orders pages."""

from __future__ import annotations

import re

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.text import get_text_list

from ..selectors import backordered_by_product, products_by_sku
from ..services import (
    CancelResult,
)

ONCE_TOKEN_RE = re.compile(r"[0-9a-f]{32}")
IMPORTS_SESSION_KEY = "orders_import_tokens"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _release_offer(result: CancelResult, warehouse_id: int) -> str:
    """Freed stock belongs to the queue (rule 6): when others wait for it, point to a release."""
    if not result.freed:
        return ""
    owed = backordered_by_product(warehouse_id=warehouse_id, product_ids=result.freed)
    waiting = sorted(pid for pid in result.freed if owed.get(pid))
    units = sum(result.freed.values())
    if not waiting:
        return f" {_plural(units, 'unit')} went back to stock; nobody is waiting for them."
    skus = list(products_by_sku(product_ids=waiting).values_list("sku", flat=True))
    try:
        url = reverse("orders:release-review")
    except NoReverseMatch:
        return format_html(
            " {} freed; other orders wait for {}: release the stock to them.",
            _plural(units, "unit"),
            get_text_list(skus, "and"),
        )
    query = urlencode([("warehouse", warehouse_id), *[("product", pid) for pid in waiting]])
    return format_html(
        ' {} freed; other orders wait for {}. <a href="{}?{}" class="alert-link">Review the release</a>.',
        _plural(units, "unit"),
        get_text_list(skus, "and"),
        url,
        query,
    )
