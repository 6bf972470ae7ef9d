"""Checking a product CSV's rows: each row's values, rows that contradict each other, and which
products already exist; the preview lists every row, valid or with its reasons."""

from __future__ import annotations

from collections import defaultdict
from itertools import batched

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from inventory.models import Product
from suppliers.models import Supplier
from suppliers.services.product_import import (
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

from .parse import CELL_MAX, COLUMNS, TERM_COLUMNS, ImportPreview, ImportRow, read_rows


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
