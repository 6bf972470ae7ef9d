"""Form pieces every area's pages share: the quantity field and service errors shown on a form."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError


class QuantityField(forms.IntegerField):
    """A whole, positive quantity no larger than the application's limit (rule 8)."""

    default_error_messages = {
        "invalid": "Enter a whole number, like 12.",
        "min_value": "Enter a quantity of at least %(limit_value)s.",
        "max_value": "%(limit_value)s is the most this field accepts; check for a typo.",
    }

    def __init__(self, *, min_value: int = 1, **kwargs):
        kwargs.setdefault("max_value", settings.BACKSTOCK_MAX_QUANTITY)
        kwargs.setdefault(
            "widget", forms.NumberInput(attrs={"class": "qty-input", "inputmode": "numeric"})
        )
        super().__init__(min_value=min_value, **kwargs)

    def to_python(self, value):
        # "1.0" is a whole number; "1.5" and "1e3" are not accepted as quantities.
        if isinstance(value, str) and value.strip().endswith(".0"):
            value = value.strip()[:-2]
        return super().to_python(value)


def form_add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, against the field it names if any."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
