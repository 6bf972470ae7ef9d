"""Reading an uploaded CSV of customer orders into rows of the known columns, or saying why the
file as a whole cannot be read."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError

from common.cleaning import utf16_refuse

COLUMNS = ("order_ref", "customer", "warehouse", "priority", "sku", "quantity")
REQUIRED_COLUMNS = ("order_ref", "customer", "warehouse", "sku", "quantity")
ALIASES = {
    "qty": "quantity",
    "ref": "order_ref",
    "order": "order_ref",
    "warehouse_code": "warehouse",
}
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


def _header_name(raw: str) -> str:
    name = raw.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(name, name)


def upload_read(upload) -> list[dict]:
    """Parse an uploaded CSV into rows of the known columns, or raise a ValidationError saying
    why the file as a whole cannot be read (not CSV, not UTF-8, missing columns, too many rows)."""
    name = getattr(upload, "name", "") or ""
    if not name.lower().endswith((".csv", ".txt")):
        raise ValidationError(
            "Upload a .csv file (in a spreadsheet: Save as → CSV UTF-8).", code="not_csv"
        )
    if (getattr(upload, "size", 0) or 0) > MAX_BYTES:
        raise ValidationError(
            "The file is larger than %(mb)s MB; split it into smaller files.",
            code="too_big",
            params={"mb": MAX_BYTES // (1024 * 1024)},
        )
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(
            "The file is larger than %(mb)s MB; split it into smaller files.",
            code="too_big",
            params={"mb": MAX_BYTES // (1024 * 1024)},
        )
    utf16_refuse(data)
    if b"\x00" in data:
        raise ValidationError("This is not a CSV file (it contains binary data).", code="not_csv")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.",
            code="not_utf8",
        ) from None
    if not text.strip():
        raise ValidationError("The file is empty.", code="empty")

    first_line = text.lstrip().split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = ";" if ";" in first_line else ("\t" if "\t" in first_line else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ValidationError(
            "This file could not be read as CSV (%(error)s).",
            code="not_csv",
            params={"error": exc},
        ) from None

    header_index = next(
        (i for i, record in enumerate(records) if any(c.strip() for c in record)), None
    )
    if header_index is None:
        raise ValidationError("The file is empty.", code="empty")
    header = [_header_name(cell) for cell in records[header_index]]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationError(
            "The first row must name the columns; missing: %(missing)s. Expected: %(expected)s.",
            code="missing_columns",
            params={"missing": ", ".join(missing), "expected": ", ".join(COLUMNS)},
        )
    positions = {column: header.index(column) for column in COLUMNS if column in header}

    rows = []
    for index in range(header_index + 1, len(records)):
        record = records[index]
        if not any(cell.strip() for cell in record):
            continue
        if len(rows) >= MAX_ROWS:
            raise ValidationError(
                "The file has more than %(max)s order rows; split it into smaller files.",
                code="too_many_rows",
                params={"max": f"{MAX_ROWS:,}"},
            )
        row = {"row": index + 1, "extra": len(record) > len(header)}
        for column in COLUMNS:
            position = positions.get(column)
            value = record[position] if position is not None and position < len(record) else ""
            row[column] = value.strip()[:200]
        rows.append(row)
    if not rows:
        raise ValidationError("The file has a header row but no orders.", code="empty")
    return rows
