"""Input cleaning shared by every area (DESIGN.md rule 8): whole quantities, ids, reasons and
hand-typed numbers, each read one way everywhere, with a message for people when it is wrong."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

# The one message for a whole number written any other way: a form field says it beside the box;
# the services' reader, whose errors also reach import rows, names the field it read.
WHOLE_NUMBER_RULE = "a whole number using the digits 0–9, like 12"
WHOLE_NUMBER_MESSAGE = f"Enter {WHOLE_NUMBER_RULE}."
_WHOLE_NUMBER_NAMED = f"The %(field)s must be {WHOLE_NUMBER_RULE}."

# The one way Backstock reads a whole number: ASCII digits only. int() and str.isdigit() also take
# "١٢" and "１２" (other scripts' digits), "+12" and "1_000", which nobody means as a quantity or an
# id. ("[0-9]", not "\d": in a text pattern \d matches every script's digits.)
DIGITS = r"[0-9]+"
_DIGITS_TEXT = re.compile(DIGITS)
# A typed number: the digits, after a minus that only fields allowing negatives accept (the others
# then say it is too small), and a decimal part spreadsheets write ("12.0"), whole when it is zeros.
# No plus sign, exponents ("1e3"), separators or spaces inside.
NUMBER_TEXT = re.compile(rf"-?{DIGITS}(\.[0-9]*)?")


def _decimal_from_input(value: Any) -> Decimal | None:
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else value
        return number if number.is_finite() else None
    if not isinstance(value, str):
        return None
    return number_text_read(value)


def number_text_read(text: str) -> Decimal | None:
    """The number typed in `text` (spaces around it ignored) when it is written the one way, whole
    or not; None otherwise. Callers check that it is whole and within their limits."""
    text = text.strip()
    if not NUMBER_TEXT.fullmatch(text):
        return None
    if len(text) > 40:
        # Far beyond any limit: reported as too large, never parsed into a huge number.
        return -(Decimal(10) ** 40) if text.startswith("-") else Decimal(10) ** 40
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
        raise ValidationError(_WHOLE_NUMBER_NAMED, code="not_a_number", params={"field": field})
    # Compare before converting: int() of a huge exponent would take minutes and gigabytes.
    if abs(number) > limit:
        raise ValidationError(
            "The %(field)s is too large (the limit is %(limit)s).",
            code="too_large",
            params={"field": field, "limit": f"{limit:,}"},
        )
    if number != number.to_integral_value():
        raise ValidationError(_WHOLE_NUMBER_NAMED, code="fractional", params={"field": field})
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
    if isinstance(value, str):
        text = value.strip()
        if not _DIGITS_TEXT.fullmatch(text) or len(text) > 19:
            raise ValueError("not an id")
        value = text
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
    if _DIGITS_TEXT.fullmatch(text) and len(text) <= 18:
        return int(text)
    return None


UTF16_MESSAGE = (
    "This file is saved as UTF-16; save it as CSV UTF-8 (in a spreadsheet: Save as → CSV UTF-8)."
)
# Text saved as UTF-16 (Excel's "Unicode text", some exporters): a byte-order mark, or ASCII
# characters each paired with a NUL byte before (big-endian) or after (little-endian) them.
_UTF16_START = re.compile(
    rb"\xff\xfe|\xfe\xff|(?:[\t\r\n\x20-\x7e]\x00){4}|(?:\x00[\t\r\n\x20-\x7e]){4}"
)


def utf16_refuse(data: bytes) -> None:
    """Say so when an uploaded text file is UTF-16, which would otherwise be taken for binary
    data. It is refused, not decoded: imports read and store one encoding, UTF-8."""
    if _UTF16_START.match(data):
        raise ValidationError(UTF16_MESSAGE, code="utf16")
