"""The one CSV writer: every file the app hands out goes through `csv_pieces`.

Cells are neutralised against formula injection as OWASP's CSV injection guidance advises: a text
cell that a spreadsheet would read as a formula — starting with `=`, `+`, `-`, `@`, a tab or a
carriage return — is written with a leading `'`, so it shows as the text it is. A product named
`=HYPERLINK(…)` or a customer reference `@SUM(…)` then comes out as text. Numbers stay numbers:
int and Decimal cells are never text, and a text cell that is just a number ("-5", "+3.5", as a
rendered table cell may be) is left alone. The csv module quotes whatever needs quoting.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# Rows written into one piece of a streamed CSV file: few enough to keep memory flat, enough
# that the response is not handed one tiny string (and one encoding step) per row.
CSV_PIECE_ROWS = 500

FORMULA_STARTS = frozenset("=+-@\t\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def csv_cell(value):
    """A cell as it is safe to write: formula-like text gets a leading quote, the rest is kept."""
    if value.__class__ is str and value[:1] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_pieces(rows: Iterable) -> Iterator[str]:
    """Rows (sequences of cell values) written as CSV text, a few hundred rows per piece, every
    cell through csv_cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    batch = []
    for row in rows:
        batch.append([csv_cell(value) for value in row])
        if len(batch) == CSV_PIECE_ROWS:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if batch:
        writer.writerows(batch)
        yield buffer.getvalue()


def csv_download(rows: Iterable, *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment of the rows (through csv_pieces)."""
    response = StreamingHttpResponse(csv_pieces(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
