"""Customer orders from a CSV file: read the upload, check every row against the database, and
keep the parsed rows on the server between the preview and the confirmation.

The confirmation never trusts anything re-posted by the browser: it loads the rows stored under a
random token at upload time and checks them again against the database as it is then.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from common.cleaning import plain_int, quantity_clean
from inventory.models import Product, Warehouse

from .models import Customer, Priority, SalesOrder, SalesOrderStatus
from .services.placement import MAX_LINES

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
KEEP_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")
PRIORITY_NAMES = {label.lower(): value for value, label in Priority.choices}


# --- reading the file ------------------------------------------------------------------------


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


# --- checking the rows -------------------------------------------------------------------------


@dataclass
class RowCheck:
    number: int
    values: dict
    errors: list[str] = field(default_factory=list)
    product_id: int | None = None
    quantity: int | None = None
    priority: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def problem(self) -> str:
        return "; ".join(self.errors)


@dataclass
class OrderCheck:
    order_ref: str
    customer: str
    warehouse: str
    rows: list[RowCheck] = field(default_factory=list)
    customer_id: int | None = None
    warehouse_id: int | None = None
    priority: int = Priority.NORMAL

    @property
    def valid(self) -> bool:
        return all(row.valid for row in self.rows)

    @property
    def lines(self) -> list[tuple[int, int]]:
        return [(row.product_id, row.quantity) for row in self.rows]

    @property
    def units(self) -> int:
        return sum(row.quantity or 0 for row in self.rows)

    @property
    def priority_label(self) -> str:
        return Priority(self.priority).label


@dataclass
class ImportCheck:
    rows: list[RowCheck]
    orders: list[OrderCheck]

    @property
    def invalid_rows(self) -> list[RowCheck]:
        return [row for row in self.rows if not row.valid]

    @property
    def valid_orders(self) -> list[OrderCheck]:
        return [order for order in self.orders if order.valid]

    @property
    def skipped_orders(self) -> list[OrderCheck]:
        return [order for order in self.orders if not order.valid]

    @property
    def valid_row_count(self) -> int:
        return sum(len(order.rows) for order in self.valid_orders)


def _priority_parse(raw: str) -> int | None:
    text = raw.strip().lower()
    if not text:
        return Priority.NORMAL
    if text in PRIORITY_NAMES:
        return PRIORITY_NAMES[text]
    if (number := plain_int(text)) in Priority.values:
        return number
    return None


PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def _quantity_parse(raw: str) -> int:
    """quantity_clean, after turning away what it should never be asked to expand: exponents
    ("1e999999999" would build a gigantic integer) and absurdly long digit strings."""
    text = raw.strip()
    if text and not PLAIN_NUMBER_RE.fullmatch(text):
        raise ValidationError("The quantity must be a whole number.", code="not_a_number")
    if len(text) > 20:
        raise ValidationError("The quantity is too large.", code="too_large")
    return quantity_clean(text)


def rows_check(rows: list[dict]) -> ImportCheck:
    """Check every row and group rows into orders (same order_ref, customer and warehouse), in
    file order. Four queries, whatever the number of rows."""
    products = {
        p.key: p
        for p in Product.objects.annotate(key=Lower("sku")).filter(
            key__in={r["sku"].lower() for r in rows if r["sku"]}
        )
    }
    customers = {
        c.key: c
        for c in Customer.objects.annotate(key=Lower("name")).filter(
            key__in={r["customer"].lower() for r in rows if r["customer"]}
        )
    }
    warehouses = {
        w.key: w
        for w in Warehouse.objects.annotate(key=Lower("code")).filter(
            key__in={r["warehouse"].lower() for r in rows if r["warehouse"]}
        )
    }

    checked: list[RowCheck] = []
    orders: dict[tuple[str, str, str], OrderCheck] = {}
    for raw in rows:
        row = RowCheck(number=raw["row"], values=raw)
        checked.append(row)
        if raw.get("extra"):
            row.errors.append("more cells than the header has columns")
        if not raw["order_ref"]:
            row.errors.append("order_ref is empty")
        elif len(raw["order_ref"]) > 60:
            row.errors.append("order_ref is longer than 60 characters")
        customer = customers.get(raw["customer"].lower())
        if not raw["customer"]:
            row.errors.append("customer is empty")
        elif customer is None:
            row.errors.append(f"unknown customer “{raw['customer']}” (add the customer first)")
        elif not customer.is_active:
            row.errors.append(f"customer {customer.name} is inactive")
        warehouse = warehouses.get(raw["warehouse"].lower())
        if not raw["warehouse"]:
            row.errors.append("warehouse is empty")
        elif warehouse is None:
            row.errors.append(f"unknown warehouse code “{raw['warehouse']}”")
        elif not warehouse.is_active:
            row.errors.append(f"warehouse {warehouse.code} is inactive")
        row.priority = _priority_parse(raw["priority"])
        if row.priority is None:
            row.errors.append(
                f"bad priority “{raw['priority']}” (use low, normal, high, urgent or 0–3)"
            )
        product = products.get(raw["sku"].lower())
        if not raw["sku"]:
            row.errors.append("sku is empty")
        elif product is None:
            row.errors.append(f"unknown SKU “{raw['sku']}”")
        elif not product.is_active:
            row.errors.append(f"SKU {product.sku} is inactive")
        else:
            row.product_id = product.pk
        try:
            row.quantity = _quantity_parse(raw["quantity"])
        except ValidationError as exc:
            row.errors.append(f"bad quantity “{raw['quantity'][:30]}”: {' '.join(exc.messages)}")

        key = (raw["order_ref"], raw["customer"].lower(), raw["warehouse"].lower())
        order = orders.get(key)
        if order is None:
            order = orders[key] = OrderCheck(
                order_ref=raw["order_ref"],
                customer=customer.name if customer else raw["customer"],
                warehouse=warehouse.code if warehouse else raw["warehouse"],
                customer_id=customer.pk if customer else None,
                warehouse_id=warehouse.pk if warehouse else None,
                priority=row.priority if row.priority is not None else Priority.NORMAL,
            )
        else:
            first = order.rows[0]
            if (
                row.priority is not None
                and first.priority is not None
                and row.priority != first.priority
            ):
                row.errors.append(f"priority differs from row {first.number} of this order")
            same = next(
                (r for r in order.rows if row.product_id and r.product_id == row.product_id), None
            )
            if same is not None:
                row.errors.append(f"SKU already on row {same.number} of this order")
            if len(order.rows) >= MAX_LINES:
                row.errors.append(f"an order can have at most {MAX_LINES} lines")
        order.rows.append(row)

    _mark_already_placed(list(orders.values()))
    return ImportCheck(rows=checked, orders=list(orders.values()))


def _mark_already_placed(orders: list[OrderCheck]) -> None:
    """A file uploaded twice must not place its orders twice: an order whose reference the
    customer already used on a live order is refused."""
    candidates = [o for o in orders if o.customer_id and o.order_ref]
    if not candidates:
        return
    placed = {
        (customer_id, reference): pk
        for pk, customer_id, reference in SalesOrder.objects.filter(
            customer_id__in={o.customer_id for o in candidates},
            customer_reference__in={o.order_ref for o in candidates},
        )
        .exclude(status=SalesOrderStatus.CANCELLED)
        .values_list("pk", "customer_id", "customer_reference")
    }
    for order in candidates:
        pk = placed.get((order.customer_id, order.order_ref))
        if pk:
            number = SalesOrder(pk=pk).number
            for row in order.rows:
                row.errors.append(f"order {order.order_ref} was already placed as {number}")


# --- keeping the upload between preview and confirm ------------------------------------------


def _import_dir() -> Path:
    base = getattr(settings, "BACKSTOCK_IMPORT_DIR", None) or tempfile.gettempdir()
    path = Path(base) / "backstock-order-imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str, suffix: str = ".json") -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return _import_dir() / f"{token}{suffix}"


def _prune(directory: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in directory.glob("*.json*"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass


def import_save(*, rows: list[dict], filename: str, user_id: int) -> str:
    """Store parsed rows under a fresh random token; returns the token."""
    directory = _import_dir()
    _prune(directory)
    token = secrets.token_urlsafe(24)
    payload = {"user": user_id, "filename": filename[:200], "rows": rows}
    path = directory / f"{token}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return token


def _read(path: Path, user_id: int) -> dict | None:
    try:
        with path.open(encoding="utf-8") as handle:
            payload = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return payload if payload.get("user") == user_id else None


def import_load(*, token: str, user_id: int) -> dict | None:
    """The stored upload of this user, or None when unknown, expired or already imported."""
    path = _path(token)
    return _read(path, user_id) if path else None


def import_claim(*, token: str, user_id: int) -> dict | None:
    """Take the stored upload for importing; only the first of two simultaneous confirmations
    gets it (the rename is atomic), so a double-submitted confirm imports once."""
    path = _path(token)
    claimed = _path(token, ".json.claimed")
    if path is None or _read(path, user_id) is None:
        return None
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return None
    payload = _read(claimed, user_id)
    claimed.unlink(missing_ok=True)
    return payload


def import_discard(*, token: str) -> None:
    path = _path(token)
    if path:
        path.unlink(missing_ok=True)
