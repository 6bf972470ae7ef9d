"""Input cleaning shared by every area (DESIGN.md rule 8): whole quantities, ids, reasons and
hand-typed numbers, each read one way everywhere, with a message for people when it is wrong."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

# Plain decimal notation only: "12", "-3", "12.0". No exponents ("1e3"), separators or spaces inside.
_QUANTITY_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _decimal_from_input(value: Any) -> Decimal | None:
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else value
        return number if number.is_finite() else None
    text = str(value).strip()
    if len(text) > 40 and _QUANTITY_TEXT.fullmatch(text):
        return Decimal(10) ** 40  # far beyond any limit: reported as too large, not parsed
    if not _QUANTITY_TEXT.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def quantity_clean(
    value: Any, *, field: str = "quantity", allow_zero: bool = False, signed: bool = False
) -> int:
    """Turn user input into a whole quantity or raise a ValidationError saying what is wrong."""
    limit = settings.BACKSTOCK_MAX_QUANTITY
    if value is None or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        raise ValidationError("Enter a %(field)s.", code="required", params={"field": field})
    number = _decimal_from_input(value)
    if number is None:
        raise ValidationError(
            "The %(field)s must be a whole number.", code="not_a_number", params={"field": field}
        )
    # Compare before converting: int() of a huge exponent would take minutes and gigabytes.
    if abs(number) > limit:
        raise ValidationError(
            "The %(field)s is too large (the limit is %(limit)s).",
            code="too_large",
            params={"field": field, "limit": f"{limit:,}"},
        )
    if number != number.to_integral_value():
        raise ValidationError(
            "The %(field)s must be a whole number.", code="fractional", params={"field": field}
        )
    quantity = int(number)
    if signed:
        if quantity == 0 and not allow_zero:
            raise ValidationError(
                "The %(field)s cannot be zero.", code="zero", params={"field": field}
            )
        return quantity
    if quantity < 0:
        raise ValidationError(
            "The %(field)s cannot be negative.", code="negative", params={"field": field}
        )
    if quantity == 0 and not allow_zero:
        raise ValidationError(
            "The %(field)s must be at least 1.", code="zero", params={"field": field}
        )
    return quantity


def reason_clean(value: Any, *, required: bool = True, field: str = "reason") -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError("Give a %(field)s.", code="reason_required", params={"field": field})
    if len(text) > 255:
        raise ValidationError(
            "Keep the %(field)s under 255 characters.",
            code="reason_too_long",
            params={"field": field},
        )
    return text


def acting_user(by):
    """Services accept the request user; anonymous or missing users are recorded as nobody."""
    return by if getattr(by, "is_authenticated", False) else None


def id_int(value: Any) -> int:
    """A primary key from untrusted input; ValueError for anything that cannot be one (booleans,
    text, zero, negatives, numbers beyond the 64-bit keys the database uses)."""
    if isinstance(value, bool):
        raise ValueError("not an id")
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError("id out of range")
    return number


def _id_clean(value: Any, message: str, code: str) -> int:
    """A primary key from untrusted input, or the given message (never a server error)."""
    try:
        return id_int(value)
    except (TypeError, ValueError):
        raise ValidationError(message, code=code) from None


def plain_int(text: str) -> int | None:
    """A whole number written as plain ASCII digits (no sign, no spaces), small enough for a
    64-bit key; None for anything else. Ids and numbers typed or posted by hand are read with it:
    str.isdigit() also accepts "²" and "١", which int() then refuses or reads unexpectedly, and a
    longer number overflows the database's integer."""
    text = str(text)
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None
