"""Reading a product CSV: the columns it may have, each row as uploaded, and what the file as a
whole gets wrong (not UTF-8, a spreadsheet, a missing or repeated column, too many rows)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from common.cleaning import utf16_refuse
from suppliers.services.product_import import MAX_IMPORT_ROWS, ProductInput, TermInput

COLUMNS = (
    "sku",
    "name",
    "unit",
    "supplier",
    "supplier_sku",
    "unit_cost",
    "lead_time_days",
    "min_order_qty",
    "pack_size",
    "preferred",
)
REQUIRED_COLUMNS = ("sku", "name")
TERM_COLUMNS = ("supplier_sku", "unit_cost", "lead_time_days", "min_order_qty", "pack_size")
# Header spellings people export from spreadsheets, mapped to ours.
HEADER_ALIASES = {
    "product_name": "name",
    "description": "name",
    "supplier_name": "supplier",
    "vendor": "supplier",
    "cost": "unit_cost",
    "lead_time": "lead_time_days",
    "moq": "min_order_qty",
    "minimum_order_qty": "min_order_qty",
    "minimum_order_quantity": "min_order_qty",
    "pack": "pack_size",
    "is_preferred": "preferred",
}
CELL_MAX = 1000  # longer than any field we keep; longer cells are garbage, not data


@dataclass
class ImportRow:
    line: int  # line of the file the row starts on (the header is line 1)
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)
    duplicate_of: int | None = None  # an identical earlier row: valid, written once
    sku: str = ""
    name: str = ""
    unit: str | None = None
    supplier_id: int | None = None
    terms: dict = field(default_factory=dict)
    is_preferred: bool | None = None
    exists: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def action(self) -> str:
        if self.errors:
            return "invalid"
        return "update" if self.exists else "create"


@dataclass
class ImportPreview:
    file_errors: list[str] = field(default_factory=list)
    rows: list[ImportRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def invalid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.errors]

    @property
    def valid_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if not row.errors]

    @property
    def can_import(self) -> bool:
        return not self.file_errors and bool(self.valid_rows)

    def summary(self) -> dict:
        valid = self.valid_rows
        skus_new = {row.sku.lower() for row in valid if not row.exists}
        skus_existing = {row.sku.lower() for row in valid if row.exists}
        return {
            "rows": len(self.rows),
            "valid": len(valid),
            "invalid": len(self.rows) - len(valid),
            "products_new": len(skus_new),
            "products_existing": len(skus_existing),
            "terms": len({(r.sku.lower(), r.supplier_id) for r in valid if r.supplier_id}),
            "duplicates": sum(1 for row in valid if row.duplicate_of),
        }

    def inputs(self) -> tuple[list[ProductInput], list[TermInput]]:
        """What the valid rows ask the import service to write (each product and term once)."""
        products: dict[str, ProductInput] = {}
        terms: dict[tuple[str, int], TermInput] = {}
        for row in self.valid_rows:
            key = row.sku.lower()
            current = products.get(key)
            if current is None or (current.unit is None and row.unit):
                products[key] = ProductInput(sku=row.sku, name=row.name, unit=row.unit)
            if row.supplier_id is not None:
                terms.setdefault(
                    (key, row.supplier_id),
                    TermInput(
                        sku=row.sku,
                        supplier_id=row.supplier_id,
                        is_preferred=row.is_preferred,
                        **row.terms,
                    ),
                )
        return list(products.values()), list(terms.values())


def _decode(data: bytes) -> str:
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            "This is a spreadsheet, not a CSV file. In your spreadsheet program choose "
            "“Save as” → “CSV UTF-8” and upload that file.",
            code="not_csv",
        )
    utf16_refuse(head)
    if b"\x00" in head:
        raise ValidationError(
            "This does not look like a CSV text file (it contains binary data).", code="not_csv"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            "The file is not UTF-8 text (first bad character on line %(line)s). Save it as "
            "“CSV UTF-8” and upload it again.",
            code="not_utf8",
            params={"line": line},
        ) from None


def _header_key(raw: str) -> str:
    key = re.sub(r"[\s\-.]+", "_", raw.strip().lower()).strip("_")
    return HEADER_ALIASES.get(key, key)


def _delimiter(first_line: str) -> str:
    # Spreadsheets in many locales write semicolons; pick what the header actually uses.
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_rows(data: bytes) -> ImportPreview:
    """Split a CSV file into rows keyed by our column names; file-level problems end the reading."""
    preview = ImportPreview()
    try:
        text = _decode(data)
    except ValidationError as exc:
        preview.file_errors.extend(exc.messages)
        return preview
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            preview.file_errors.append("The file is empty: it needs a header row and data rows.")
            return preview
        keys = [_header_key(cell) for cell in header]
        repeated = sorted({k for k in keys if k and keys.count(k) > 1})
        if repeated:
            preview.file_errors.append(f"The header names a column twice: {', '.join(repeated)}.")
        missing = [c for c in REQUIRED_COLUMNS if c not in keys]
        if missing:
            preview.file_errors.append(
                f"The header row has no {' or '.join(missing)} column. The first row must name "
                f"the columns, e.g. {','.join(COLUMNS)}."
            )
        if preview.file_errors:
            return preview
        preview.ignored_columns = [
            header[i].strip() for i, k in enumerate(keys) if k not in COLUMNS and k
        ]
        for cells in reader:
            line = reader.line_num - (sum(cell.count("\n") for cell in cells))
            if not any(cell.strip() for cell in cells):
                continue
            if len(preview.rows) >= MAX_IMPORT_ROWS:
                preview.file_errors.append(
                    f"The file has more than {MAX_IMPORT_ROWS:,} rows. Split it into smaller files."
                )
                preview.rows = []
                return preview
            row = ImportRow(line=line, values={})
            if len(cells) > len(keys) and any(c.strip() for c in cells[len(keys) :]):
                row.errors.append(
                    f"The row has {len(cells)} values but the header names {len(keys)} columns "
                    "(a comma inside a value needs quotes)."
                )
            for key, cell in zip(keys, cells, strict=False):
                if key in COLUMNS:
                    row.values[key] = cell
            preview.rows.append(row)
    except csv.Error as exc:
        preview.file_errors.append(f"The file is not valid CSV near line {reader.line_num}: {exc}.")
        preview.rows = []
    if not preview.file_errors and not preview.rows:
        preview.file_errors.append("The file has a header row but no data rows.")
    return preview
