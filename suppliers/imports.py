"""Product CSV import: read and check an uploaded file, explain every bad row, and keep the upload
on the server between the preview and the confirmation.

The upload itself is what is kept (under a random token), and it is read and checked again when the
user confirms, against the database as it is then. Nothing the browser sends back is trusted except
the token, which must also be one this session uploaded.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import batched
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from inventory.models import Product
from suppliers.models import Supplier
from suppliers.services.product_import import (
    MAX_IMPORT_ROWS,
    ProductInput,
    TermInput,
    lead_time_clean,
    min_order_qty_clean,
    name_clean,
    pack_size_clean,
    preferred_clean,
    sku_clean,
    supplier_sku_clean,
    unit_clean,
    unit_cost_clean,
)

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


# --- reading the file ------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            "This is a spreadsheet, not a CSV file. In your spreadsheet program choose "
            "“Save as” → “CSV UTF-8” and upload that file.",
            code="not_csv",
        )
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


# --- checking the rows -----------------------------------------------------------------------


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _row_fields_check(row: ImportRow, suppliers: dict[str, Supplier]) -> None:
    values = row.values
    for name, cell in values.items():
        if len(cell) > CELL_MAX:
            row.errors.append(f"The {name} value is longer than {CELL_MAX:,} characters.")
            return
    for attr, cleaner in (("sku", sku_clean), ("name", name_clean), ("unit", unit_clean)):
        try:
            setattr(row, attr, cleaner(values.get(attr, "")))
        except ValidationError as exc:
            row.errors.append(_error_text(exc))
    supplier_name = (values.get("supplier") or "").strip()
    terms_given = [c for c in (*TERM_COLUMNS, "preferred") if (values.get(c) or "").strip()]
    if not supplier_name:
        if terms_given:
            row.errors.append(
                f"Supply terms ({', '.join(terms_given)}) are given without a supplier."
            )
        return
    supplier = suppliers.get(supplier_name.lower())
    if supplier is None:
        row.errors.append(f"Unknown supplier “{supplier_name[:100]}”; add the supplier first.")
    elif not supplier.is_active:
        row.errors.append(f"Supplier “{supplier.name}” is inactive.")
    else:
        row.supplier_id = supplier.pk
    for column, cleaner in (
        ("supplier_sku", supplier_sku_clean),
        ("unit_cost", unit_cost_clean),
        ("lead_time_days", lead_time_clean),
        ("min_order_qty", min_order_qty_clean),
        ("pack_size", pack_size_clean),
    ):
        try:
            row.terms[column] = cleaner(values.get(column, ""))
        except ValidationError as exc:
            row.errors.append(_error_text(exc))
    try:
        row.is_preferred = preferred_clean(values.get("preferred", ""))
    except ValidationError as exc:
        row.errors.append(_error_text(exc))


def _lines(rows: list[ImportRow]) -> str:
    numbers = [str(row.line) for row in rows[:6]]
    return ", ".join(numbers) + (" …" if len(rows) > 6 else "")


def _cross_rows_check(rows: list[ImportRow]) -> None:
    """Rows that contradict each other are all invalid: the file does not say which one is right."""
    by_sku: dict[str, list[ImportRow]] = defaultdict(list)
    for row in rows:
        if row.sku:
            by_sku[row.sku.lower()].append(row)
    for group in by_sku.values():
        if len(group) < 2:
            continue
        names = {row.name for row in group if row.name}
        units = {row.unit for row in group if row.unit}
        if len(names) > 1 or len(units) > 1:
            what = "names" if len(names) > 1 else "units"
            for row in group:
                row.errors.append(
                    f"SKU {row.sku} has different {what} on lines {_lines(group)}; "
                    "use one spelling on every line."
                )
            continue
        preferred = [row for row in group if row.is_preferred and row.supplier_id]
        if len({row.supplier_id for row in preferred}) > 1:
            for row in preferred:
                row.errors.append(
                    f"SKU {row.sku} has more than one preferred supplier "
                    f"(lines {_lines(preferred)}); mark one."
                )
        by_supplier: dict[int | None, list[ImportRow]] = defaultdict(list)
        for row in group:
            by_supplier[row.supplier_id].append(row)
        for supplier_id, same in by_supplier.items():
            if len(same) < 2:
                continue
            first = same[0]
            signature = (first.terms, first.is_preferred)
            if all((row.terms, row.is_preferred) == signature for row in same):
                for row in same[1:]:
                    row.duplicate_of = first.line
            elif supplier_id is not None:
                for row in same:
                    row.errors.append(
                        f"SKU {row.sku} has different terms from the same supplier on lines "
                        f"{_lines(same)}; keep one line."
                    )


def _suppliers_for(rows: list[ImportRow]) -> dict[str, Supplier]:
    names = {(row.values.get("supplier") or "").strip().lower() for row in rows} - {""}
    found: dict[str, Supplier] = {}
    for chunk in batched(sorted(names), 500):
        for supplier in Supplier.objects.annotate(name_lower=Lower("name")).filter(
            name_lower__in=chunk
        ):
            found[supplier.name_lower] = supplier
    return found


def _mark_existing(rows: list[ImportRow]) -> None:
    keys = sorted({row.sku.lower() for row in rows if row.sku})
    existing: set[str] = set()
    for chunk in batched(keys, 500):
        existing.update(
            Product.objects.annotate(sku_lower=Lower("sku"))
            .filter(sku_lower__in=chunk)
            .values_list("sku_lower", flat=True)
        )
    for row in rows:
        row.exists = row.sku.lower() in existing


def preview_build(data: bytes) -> ImportPreview:
    """Read a product CSV and mark every row valid or invalid with its reasons."""
    preview = read_rows(data)
    if preview.file_errors:
        return preview
    suppliers = _suppliers_for(preview.rows)
    for row in preview.rows:
        if not row.errors:
            _row_fields_check(row, suppliers)
    _cross_rows_check(preview.rows)
    _mark_existing(preview.rows)
    return preview


def errors_csv_rows(preview: ImportPreview):
    """The invalid rows as CSV rows: line, problems, then the values as uploaded."""
    yield ["line", "problems", *COLUMNS]
    for row in preview.invalid_rows:
        yield [row.line, " ".join(row.errors), *(row.values.get(c, "") for c in COLUMNS)]


# --- keeping the upload between preview and confirm ------------------------------------------

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
SESSION_KEY = "product_imports"
KEEP_SECONDS = 24 * 3600


def upload_dir() -> Path:
    """Where uploads wait for confirmation. Set BACKSTOCK_IMPORT_DIR to storage every app process
    shares when running more than one machine."""
    path = Path(
        getattr(settings, "BACKSTOCK_IMPORT_DIR", "")
        or Path(tempfile.gettempdir()) / "backstock-imports"
    )
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str) -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    return upload_dir() / f"{token}.csv"


def upload_keep(session, *, data: bytes, filename: str) -> str:
    """Store an upload for this session and return its token."""
    _prune()
    token = secrets.token_urlsafe(32)
    path = _path(token)
    path.write_bytes(data)
    path.chmod(0o600)
    kept = dict(session.get(SESSION_KEY, {}))
    kept[token] = {"filename": filename[:200], "at": int(time.time())}
    # A session remembers only its last few uploads.
    for stale in list(kept)[:-5]:
        upload_discard(session, token=stale)
        kept.pop(stale, None)
    session[SESSION_KEY] = kept
    return token


def upload_info(session, *, token: str) -> dict | None:
    """The upload's name if this session uploaded it and it is still kept, else None."""
    info = session.get(SESSION_KEY, {}).get(token) if isinstance(token, str) else None
    path = _path(token)
    if info is None or path is None or not path.exists():
        return None
    return info


def upload_read(session, *, token: str) -> bytes | None:
    if upload_info(session, token=token) is None:
        return None
    return _path(token).read_bytes()


def upload_discard(session, *, token: str) -> None:
    path = _path(token)
    if path is not None:
        path.unlink(missing_ok=True)
    kept = dict(session.get(SESSION_KEY, {}))
    if kept.pop(token, None) is not None:
        session[SESSION_KEY] = kept


def _prune() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in upload_dir().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # another process pruned it first
            continue
