"""The audit trail: who did what, read from the histories the apps already keep.

Nothing is written twice for the audit. Every app keeps its own append-only facts (the stock
ledger, safety stock changes, allocations, releases, shipments, who cancelled or sent a
document) and the Django admin keeps its LogEntry rows. Each app offers selectors that turn its
facts about one product, order or purchase order into rows of one shape (the columns below);
`history_page` unites them in one SQL UNION ALL, newest first, and reads one page of it. A
history page therefore costs two queries (count and page) however long the history is.

Each part is a `HistoryPart`: its rows in the shared shape, and the bare filtered records that
the count reads (without the joins that only dress a row for display). Where the database
allows it (PostgreSQL), every part is ordered newest first and cut to the page's reach before
the union, so a page reads at most `page × HISTORY_PER_PAGE` rows of each part instead of the
whole history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    Expression,
    F,
    IntegerField,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Concat, LPad
from django.urls import reverse

HISTORY_PER_PAGE = 50

# The shape every part shares, in this order (a UNION matches columns by position).
COLUMNS = ("a_at", "a_user", "a_action", "a_quantity", "a_reason", "a_detail", "a_row")
NEWEST_FIRST = ("-a_at", "-a_row")

ACTION_LABELS = {
    # stock ledger (the movement kinds)
    "receipt": "Received",
    "shipment": "Shipped",
    "adjustment": "Adjusted",
    "count": "Counted",
    "transfer": "Transferred",
    "safety_stock": "Safety stock set",
    # allocation history
    "alloc_placement": "Allocated when placed",
    "alloc_release": "Released",
    "alloc_shipment": "Allocation shipped",
    "alloc_cancellation": "Allocation freed by cancellation",
    # documents
    "order_placed": "Order placed",
    "order_cancelled": "Order cancelled",
    "line_cancelled": "Line cancelled",
    "po_created": "Purchase order created",
    "po_sent": "Sent to supplier",
    "po_cancelled": "Purchase order cancelled",
    "shipment_received": "Shipment received",
    # Django admin (LogEntry action flags)
    "admin_1": "Added in admin",
    "admin_2": "Changed in admin",
    "admin_3": "Deleted in admin",
}

# Document numbers inside the "what" column become links.
_DOCUMENT = re.compile(r"\b(SO|PO|REL)-(\d{6,})\b")
_DOCUMENT_URLS = {
    "SO": "orders:order-detail",
    "PO": "suppliers:purchaseorder-detail",
    "REL": "orders:release-detail",
}


def text(value: str) -> Expression:
    # Typed explicitly: PostgreSQL must know every UNION column's type, constants included.
    return Cast(Value(value), CharField())


def number_of(prefix: str, field: str) -> Expression:
    """A document number (SO-000012) computed in SQL from a primary key, like the `number`
    properties do in Python."""
    return Concat(
        text(f"{prefix}-"),
        LPad(Cast(field, CharField()), 6, text("0")),
        output_field=CharField(),
    )


@dataclass(frozen=True)
class HistoryPart:
    """One source of a history: `rows` in the shared shape, and `events`, the same records
    filtered but not dressed for display, which is all a count needs."""

    rows: QuerySet
    events: QuerySet


def audit_rows(
    queryset: QuerySet,
    *,
    at,
    user,
    action,
    quantity=None,
    reason=None,
    detail=None,
) -> HistoryPart:
    """One part of a history: the queryset's rows in the shared shape.

    Field names are given as strings, constants as Value/expressions. The queryset holds only
    the filter; what the columns need (users, warehouses, documents) is joined here."""

    def expression(value, output_field):
        if value is None:
            return Cast(Value(None), output_field)
        if isinstance(value, str):
            if isinstance(output_field, DateTimeField):
                # Every `at` is a datetime column already. Cast would cost SQLite its
                # microseconds (it casts through strftime's milliseconds), and events a
                # millisecond apart would then come out of order.
                return F(value)
            return Cast(F(value), output_field)
        return value

    annotations = {
        "a_at": expression(at, DateTimeField()),
        "a_user": expression(user, CharField()),
        "a_action": expression(action, CharField()),
        # 64-bit: a count can take a whole level's on hand, past 2³¹, off in one movement.
        "a_quantity": expression(quantity, BigIntegerField()),
        "a_reason": expression(reason, TextField()),
        "a_detail": expression(detail, TextField()),
        "a_row": Cast(F("pk"), IntegerField()),
    }
    return HistoryPart(
        rows=queryset.order_by().annotate(**annotations).values(*COLUMNS),
        events=queryset.order_by().values("pk"),
    )


def admin_log_rows(*, app_label: str, model: str, object_ids: QuerySet) -> HistoryPart:
    """Django admin additions, changes and deletions of the given objects (ids as a subquery)."""
    # The content type as a subquery run once, not a join: joined by name, PostgreSQL cannot
    # tell which content type it is when planning and reads the whole admin log; by id it reads
    # that type's entries through the log's content type index.
    content_type = ContentType.objects.filter(app_label=app_label, model=model).values("pk")[:1]
    entries = LogEntry.objects.filter(
        content_type_id=Subquery(content_type),
        object_id__in=object_ids.annotate(text_id=Cast("pk", CharField())).values("text_id"),
    )
    return audit_rows(
        entries,
        at="action_time",
        user="user__username",
        action=Concat(text("admin_"), Cast("action_flag", CharField()), output_field=CharField()),
        reason="change_message",
        detail="object_repr",
    )


@dataclass(frozen=True)
class AuditEntry:
    at: object
    user: str
    action: str
    action_label: str
    what: str
    quantity: int | None
    reason: str
    links: tuple[tuple[str, str], ...]


def _links(detail: str, here: str) -> tuple[tuple[str, str], ...]:
    found = []
    for match in _DOCUMENT.finditer(detail or ""):
        number = match.group(0)
        if number == here or any(number == seen for seen, _ in found):
            continue
        url = reverse(_DOCUMENT_URLS[match.group(1)], args=[int(match.group(2))])
        found.append((number, url))
    return tuple(found)


def _entry(row: dict, here: str) -> AuditEntry:
    action = row["a_action"] or ""
    reason = row["a_reason"] or ""
    if action.startswith("admin_"):
        # The admin stores its change message as JSON; LogEntry knows how to say it in words.
        reason = LogEntry(change_message=reason).get_change_message()
    return AuditEntry(
        at=row["a_at"],
        user=row["a_user"] or "",
        action=action,
        action_label=ACTION_LABELS.get(action, action.replace("_", " ").capitalize()),
        what=(row["a_detail"] or "").strip(),
        quantity=row["a_quantity"],
        reason=reason,
        links=_links(row["a_detail"], here),
    )


class History:
    """The union of the parts, newest first, as the paginator reads it: `count()` counts the
    bare records, and a slice reads only the rows that can reach it."""

    def __init__(self, parts: list[HistoryPart]):
        self.parts = parts

    def count(self) -> int:
        first, *rest = [part.events for part in self.parts]
        return first.union(*rest, all=True).count() if rest else first.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[dict]:
        if not isinstance(key, slice) or key.stop is None:
            raise TypeError("A history is read one page (a bounded slice) at a time.")
        if key.stop <= (key.start or 0):
            return []
        rows = [part.rows for part in self.parts]
        if connections[rows[0].db].features.supports_slicing_ordering_in_compound:
            # No row below the page's end can come from beyond the first `key.stop` rows of its
            # own part, so each part is sorted and cut there before the union; the union then
            # sorts at most parts × key.stop rows, and what only dresses a row for display
            # (a subquery per row) is computed for those rows alone.
            rows = [part.order_by(*NEWEST_FIRST)[: key.stop] for part in rows]
        first, *rest = rows
        return list(first.union(*rest, all=True).order_by(*NEWEST_FIRST)[key])


def history_page(parts: list[HistoryPart], *, page: object, here: str = "") -> Page:
    """One page of the union of the parts, newest first; entries link to the documents they
    name (except `here`, the document the page is about)."""
    paginator = Paginator(History(parts), HISTORY_PER_PAGE)
    result = paginator.get_page(page)
    result.object_list = [_entry(row, here) for row in result.object_list]
    return result
