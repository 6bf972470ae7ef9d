"""Form pieces every area's pages share: the whole-number and quantity fields, and service errors
shown on a form."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from common.cleaning import WHOLE_NUMBER_MESSAGE, number_text_read

# The largest value a 64-bit database integer holds: the bound of a whole-number field that has none
# of its own, so no typed number can overflow a query.
BIGINT_MAX = 2**63 - 1


class WholeNumberField(forms.IntegerField):
    """A whole number read by the one rule of common.cleaning (ASCII digits; "12.0" is 12) with its
    one message. Negatives are only for a field given a negative min_value; elsewhere a minus sign
    is answered with how small a value the field takes."""

    default_error_messages = {"invalid": WHOLE_NUMBER_MESSAGE}

    def __init__(self, *, min_value: int = 0, max_value: int = BIGINT_MAX, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        number = number_text_read(value) if isinstance(value, str) else None
        if number is None or number != number.to_integral_value():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(number)


class QuantityField(WholeNumberField):
    """A whole, positive quantity no larger than the application's limit (rule 8)."""

    default_error_messages = {
        "min_value": "Enter a quantity of at least %(limit_value)s.",
        "max_value": "%(limit_value)s is the most this field accepts; check for a typo.",
    }

    def __init__(self, *, min_value: int = 1, **kwargs):
        kwargs.setdefault("max_value", settings.BACKSTOCK_MAX_QUANTITY)
        kwargs.setdefault(
            "widget", forms.NumberInput(attrs={"class": "qty-input", "inputmode": "numeric"})
        )
        super().__init__(min_value=min_value, **kwargs)


def form_add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, against the field it names if any."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
