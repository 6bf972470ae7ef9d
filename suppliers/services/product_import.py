"""The write behind the product CSV import: products and their supply terms, upserted in batches.

Field rules live here (the preview in suppliers.imports uses the same cleaners to explain each bad
row), so what the preview accepts is exactly what the write accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import batched

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models.functions import Lower

from common.cleaning import quantity_clean
from common.transactions import write_transaction
from inventory.models import Product
from suppliers.models import Supplier, SupplierProduct
from suppliers.signals import supply_changed

MAX_IMPORT_ROWS = 50_000
BATCH_SIZE = 500
MAX_UNIT_COST = Decimal("1000000")
MAX_LEAD_TIME_DAYS = 3650

SKU_MAX = Product._meta.get_field("sku").max_length
NAME_MAX = Product._meta.get_field("name").max_length
UNIT_MAX = Product._meta.get_field("unit").max_length
SUPPLIER_SKU_MAX = SupplierProduct._meta.get_field("supplier_sku").max_length


@dataclass(frozen=True)
class ProductInput:
    sku: str
    name: str
    unit: str | None = None  # None keeps an existing product's unit (new ones get the default)


@dataclass(frozen=True)
class TermInput:
    """A supplier's terms for a product; None in a field keeps the existing value (or default)."""

    sku: str
    supplier_id: int
    supplier_sku: str | None = None
    unit_cost: Decimal | None = None
    lead_time_days: int | None = None
    min_order_qty: int | None = None
    pack_size: int | None = None
    is_preferred: bool | None = None


@dataclass(frozen=True)
class ImportResult:
    products_created: int
    products_updated: int
    products_unchanged: int
    terms_created: int
    terms_updated: int


# --- field cleaners (shared with the preview) -------------------------------------------------


def _text_clean(value, *, label: str, max_length: int, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError("%(label)s is missing.", code="required", params={"label": label})
    if len(text) > max_length:
        raise ValidationError(
            "%(label)s is longer than %(max)s characters.",
            code="too_long",
            params={"label": label, "max": max_length},
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValidationError(
            "%(label)s contains control characters.", code="control", params={"label": label}
        )
    return text


def sku_clean(value) -> str:
    return _text_clean(value, label="SKU", max_length=SKU_MAX, required=True)


def name_clean(value) -> str:
    return _text_clean(value, label="Name", max_length=NAME_MAX, required=True)


def unit_clean(value) -> str | None:
    return _text_clean(value, label="Unit", max_length=UNIT_MAX, required=False) or None


def supplier_sku_clean(value) -> str | None:
    text = _text_clean(value, label="Supplier SKU", max_length=SUPPLIER_SKU_MAX, required=False)
    return text or None


def unit_cost_clean(value) -> Decimal | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    try:
        cost = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError(
            "Unit cost “%(value)s” is not a number like 12.50.",
            code="bad_cost",
            params={"value": text[:20]},
        ) from None
    if not cost.is_finite() or cost < 0 or cost > MAX_UNIT_COST:
        raise ValidationError("Unit cost must be between 0 and 1,000,000.", code="bad_cost")
    if cost != cost.quantize(Decimal("0.01")):
        raise ValidationError("Unit cost has more than two decimals.", code="bad_cost")
    return cost.quantize(Decimal("0.01"))


def _count_clean(value, *, label: str, allow_zero: bool, maximum: int | None = None) -> int | None:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return None
    number = quantity_clean(text, field=label, allow_zero=allow_zero)
    if maximum is not None and number > maximum:
        raise ValidationError(
            "The %(field)s must be at most %(max)s.",
            code="too_large",
            params={"field": label, "max": f"{maximum:,}"},
        )
    return number


def lead_time_clean(value) -> int | None:
    return _count_clean(
        value, label="lead time (days)", allow_zero=True, maximum=MAX_LEAD_TIME_DAYS
    )


def min_order_qty_clean(value) -> int | None:
    return _count_clean(value, label="minimum order quantity", allow_zero=False)


def pack_size_clean(value) -> int | None:
    return _count_clean(value, label="pack size", allow_zero=False)


TRUE_WORDS = {"1", "y", "yes", "true", "t", "x", "preferred"}
FALSE_WORDS = {"0", "n", "no", "false", "f"}


def preferred_clean(value) -> bool | None:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValidationError(
        "Preferred must be yes or no, not “%(value)s”.",
        code="bad_preferred",
        params={"value": value.strip()[:20]},
    )


# --- the write -------------------------------------------------------------------------------


def _check_inputs(products: Sequence[ProductInput], terms: Sequence[TermInput]) -> None:
    """The service's own guard: callers other than the preview get the same rules."""
    if not products:
        raise ValidationError("There is nothing to import.", code="nothing_to_import")
    if len(products) > MAX_IMPORT_ROWS or len(terms) > MAX_IMPORT_ROWS:
        raise ValidationError(
            "An import can have at most %(max)s rows.",
            code="too_many_rows",
            params={"max": f"{MAX_IMPORT_ROWS:,}"},
        )
    seen: set[str] = set()
    for item in products:
        key = sku_clean(item.sku).lower()
        name_clean(item.name)
        unit_clean(item.unit or "")
        if key in seen:
            raise ValidationError(
                "SKU %(sku)s is given twice.", code="duplicate_sku", params={"sku": item.sku}
            )
        seen.add(key)
    pairs: set[tuple[str, int]] = set()
    preferred: set[str] = set()
    for term in terms:
        key = term.sku.strip().lower()
        if key not in seen:
            raise ValidationError(
                "Supply terms name SKU %(sku)s, which is not imported.",
                code="unknown_sku",
                params={"sku": term.sku},
            )
        if (key, term.supplier_id) in pairs:
            raise ValidationError(
                "SKU %(sku)s has two sets of terms from one supplier.",
                code="duplicate_terms",
                params={"sku": term.sku},
            )
        pairs.add((key, term.supplier_id))
        if term.is_preferred:
            if key in preferred:
                raise ValidationError(
                    "SKU %(sku)s has more than one preferred supplier.",
                    code="two_preferred",
                    params={"sku": term.sku},
                )
            preferred.add(key)
        supplier_sku_clean(term.supplier_sku or "")
        for number, cleaner in (
            (term.unit_cost, unit_cost_clean),
            (term.lead_time_days, lead_time_clean),
            (term.min_order_qty, min_order_qty_clean),
            (term.pack_size, pack_size_clean),
        ):
            if number is not None:
                cleaner(str(number))
    supplier_ids = {term.supplier_id for term in terms}
    known = set(Supplier.objects.filter(pk__in=supplier_ids).values_list("pk", flat=True))
    if known != supplier_ids:
        raise ValidationError(
            "A row names a supplier that does not exist.", code="unknown_supplier"
        )


def _products_upsert(products: Sequence[ProductInput]) -> tuple[dict[str, int], int, int, int]:
    """Create new SKUs and update the names / units of existing ones, batch by batch."""
    ids: dict[str, int] = {}
    created = updated = unchanged = 0
    for batch in batched(products, BATCH_SIZE):
        wanted = {item.sku.strip().lower(): item for item in batch}
        existing = {
            product.sku_lower: product
            for product in Product.objects.annotate(sku_lower=Lower("sku")).filter(
                sku_lower__in=list(wanted)
            )
        }
        changed = []
        for key, product in existing.items():
            item = wanted[key]
            name, unit = item.name.strip(), (item.unit or "").strip() or product.unit
            if (product.name, product.unit) != (name, unit):
                product.name, product.unit = name, unit
                changed.append(product)
            ids[key] = product.pk
        if changed:
            Product.objects.bulk_update(changed, ["name", "unit"])
        updated += len(changed)
        unchanged += len(existing) - len(changed)
        new = [
            Product(
                sku=item.sku.strip(),
                name=item.name.strip(),
                unit=(item.unit or "").strip() or Product._meta.get_field("unit").default,
            )
            for key, item in wanted.items()
            if key not in existing
        ]
        if new:
            try:
                Product.objects.bulk_create(new)
            except IntegrityError:
                # Someone created one of these SKUs between our read and this write.
                raise ValidationError(
                    "Some of these SKUs were added by someone else while the import ran. "
                    "Upload the file again to update them.",
                    code="concurrent_create",
                ) from None
            if any(product.pk is None for product in new):  # pragma: no cover - old backends
                refetched = Product.objects.annotate(sku_lower=Lower("sku")).filter(
                    sku_lower__in=[p.sku.lower() for p in new]
                )
                ids.update({p.sku_lower: p.pk for p in refetched})
            else:
                ids.update({product.sku.lower(): product.pk for product in new})
            created += len(new)
    return ids, created, updated, unchanged


TERM_FIELDS = ("supplier_sku", "unit_cost", "lead_time_days", "min_order_qty", "pack_size")


def _terms_upsert(terms: Sequence[TermInput], product_ids: dict[str, int]) -> tuple[int, int]:
    """Create or update supply terms; a preferred term unsets the product's other preferred one
    first, so the one-preferred-per-product constraint holds at every statement."""
    created = updated = 0
    for batch in batched(terms, BATCH_SIZE):
        by_pair = {(product_ids[t.sku.strip().lower()], t.supplier_id): t for t in batch}
        batch_products = {product_id for product_id, _ in by_pair}
        existing = {
            (term.product_id, term.supplier_id): term
            for term in SupplierProduct.objects.filter(product_id__in=batch_products)
        }
        chosen = {pair[0]: pair[1] for pair, t in by_pair.items() if t.is_preferred}
        demoted = [
            term
            for (product_id, supplier_id), term in existing.items()
            if term.is_preferred and product_id in chosen and chosen[product_id] != supplier_id
        ]
        for term in demoted:
            term.is_preferred = False
        if demoted:
            SupplierProduct.objects.bulk_update(demoted, ["is_preferred"])

        changed, new = [], []
        for (product_id, supplier_id), item in by_pair.items():
            term = existing.get((product_id, supplier_id))
            is_new = term is None
            if is_new:
                term = SupplierProduct(product_id=product_id, supplier_id=supplier_id)
            before = tuple(getattr(term, f) for f in (*TERM_FIELDS, "is_preferred"))
            for field in TERM_FIELDS:
                value = getattr(item, field)
                if value is not None:
                    setattr(term, field, value)
            if item.is_preferred is not None:
                term.is_preferred = item.is_preferred
            if is_new:
                new.append(term)
            elif before != tuple(getattr(term, f) for f in (*TERM_FIELDS, "is_preferred")):
                changed.append(term)
        if changed:
            SupplierProduct.objects.bulk_update(changed, [*TERM_FIELDS, "is_preferred"])
        if new:
            SupplierProduct.objects.bulk_create(new)
        if demoted or changed or new:
            touched = {term.product_id for term in (*demoted, *changed, *new)}
            supply_changed.send(sender=SupplierProduct, product_ids=touched, supplier_ids=None)
        created += len(new)
        updated += len(changed)
    return created, updated


@write_transaction
def product_import(
    *, products: Sequence[ProductInput], terms: Iterable[TermInput] = (), by
) -> ImportResult:
    """Upsert products by SKU (case-insensitive) and their supply terms, all or nothing.

    The writes go out in batches of bulk statements inside one transaction, so a large file is
    quick and a failure half-way leaves the catalogue exactly as it was."""
    terms = list(terms)
    _check_inputs(products, terms)
    product_ids, created, updated, unchanged = _products_upsert(products)
    terms_created, terms_updated = _terms_upsert(terms, product_ids)
    return ImportResult(
        products_created=created,
        products_updated=updated,
        products_unchanged=unchanged,
        terms_created=terms_created,
        terms_updated=terms_updated,
    )
