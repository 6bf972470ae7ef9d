"""The dashboard's suggestions a page at a time, and all of them for the CSV, each in a fixed
number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from planning.selectors.screen import CatalogueTotals, screen_page, screen_rows
from planning.selectors.suggestions import ReorderRow, rows_from_inputs
from suppliers.selectors import (
    LeadTimeStats,
    PendingPurchase,
    pending_purchases,
    supplier_lead_times,
)

# The group header of the suggestions without a supplier.
NO_SUPPLIER_GROUP = "No supplier"


@dataclass(frozen=True)
class SupplierGroup:
    """What the group header row of one supplier says about all its suggestions."""

    name: str
    rows: int
    urgent: int
    value: Decimal


@dataclass
class PageRow:
    """A suggestion on the page: its row, its supplier's group over the whole list, the open
    purchase orders behind its "on order" as (expected date, outstanding, PO number), and the
    draft, sent or partly received order of its own supplier that already covers it (drafting
    skips such a row, so the page says so)."""

    row: ReorderRow
    group: SupplierGroup
    supply: list[tuple[dt.date, int, str]] = field(default_factory=list)
    covered_by: PendingPurchase | None = None


class SuggestionPages:
    """The dashboard's suggestions as a sequence django-tables2 can page without reading them
    all: its length is the screen's total, and a slice reads only the rows it covers.

    The first read also brings the catalogue's stockouts and backorder value for the KPIs (the
    same pass over the levels). A page is four queries: the screen, the page suppliers' lead
    times (two) and the purchase orders behind its rows."""

    def __init__(
        self, filters: dict, *, per_page: int, first_offset: int, today: dt.date | None = None
    ):
        self.filters = filters
        self.per_page = per_page
        self.today = today
        self.total = self.urgent = 0
        self.offset = -1
        self.catalogue: CatalogueTotals | None = None
        self.lead_times: dict[int, LeadTimeStats] = {}
        self.rows: list[PageRow] = []
        self.fetch(first_offset)

    def fetch(self, offset: int) -> None:
        page = screen_page(
            **self.filters,
            offset=offset,
            limit=self.per_page,
            catalogue=self.catalogue is None,
            today=self.today,
        )
        if page.catalogue is not None:
            self.catalogue = page.catalogue
        self.total, self.urgent, self.offset = page.total, page.urgent, offset
        suppliers = {inputs.term.supplier_id for inputs in page.rows if inputs.term}
        self.lead_times = supplier_lead_times(supplier_ids=suppliers) if suppliers else {}
        rows = list(rows_from_inputs(page.rows, lead_times=self.lead_times, today=self.today))
        pending = (
            pending_purchases(
                product_ids={row.product_id for row in rows},
                warehouse_ids={row.warehouse_id for row in rows},
            )
            if rows
            else {}
        )
        self.rows = []
        for row in rows:
            # Every supplier with a row on the page has its group's totals in the screen.
            totals = page.groups[row.supplier_id]
            lines = pending.get((row.product_id, row.warehouse_id), [])
            self.rows.append(
                PageRow(
                    row=row,
                    group=SupplierGroup(
                        name=row.supplier_name or NO_SUPPLIER_GROUP,
                        rows=totals.rows,
                        urgent=totals.urgent,
                        value=totals.value,
                    ),
                    supply=[
                        (line.expected_date, line.outstanding, line.number)
                        for line in lines
                        if not line.is_draft and line.outstanding > 0
                    ],
                    covered_by=next(
                        (line for line in lines if line.supplier_id == row.supplier_id), None
                    ),
                )
            )

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key):
        if isinstance(key, slice):
            start = key.start or 0
            if start != self.offset:
                self.fetch(start)
            stop = self.total if key.stop is None else key.stop
            return self.rows[: max(0, stop - start)]
        return self[key : key + 1][0]

    def __iter__(self):
        return iter(self.rows)


def suggestions_csv_rows(
    *,
    warehouse_id: int | None = None,
    supplier_id: int | None = None,
    urgent_only: bool = False,
    today: dt.date | None = None,
) -> Iterator[ReorderRow]:
    """Every suggestion as filtered on screen, in the dashboard's order, computed as it is
    consumed: three queries whatever the number of rows (every supplier's lead times, then the
    screen with the rows' inputs, streamed)."""
    lead_times = supplier_lead_times()
    yield from rows_from_inputs(
        screen_rows(
            warehouse_id=warehouse_id,
            supplier_id=supplier_id,
            urgent_only=urgent_only,
            today=today,
        ),
        lead_times=lead_times,
        today=today,
    )
