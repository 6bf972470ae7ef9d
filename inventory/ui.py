"""Small pieces every area's pages share: quantity fields, service errors on forms, streamed CSV
export of a django-tables2 table, and double-submit tokens."""

from __future__ import annotations

import csv
import uuid

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.utils import timezone


def plain_int(text: str) -> int | None:
    """A whole number written as plain ASCII digits (no sign, no spaces), small enough for a
    64-bit key; None for anything else. Ids and numbers typed or posted by hand are read with it:
    str.isdigit() also accepts "²" and "١", which int() then refuses or reads unexpectedly, and a
    longer number overflows the database's integer."""
    text = str(text)
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


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


class CsvExportMixin:
    """For a SingleTableMixin view: `?_export=csv` streams the table as filtered on screen.

    Rows are written as they are produced (StreamingHttpResponse), so a large export does not build
    the whole file in memory first; the columns are the table's exportable columns."""

    export_name = "export"
    export_trigger_param = "_export"

    def get(self, request, *args, **kwargs):
        if request.GET.get(self.export_trigger_param) == "csv":
            return self.csv_response()
        return super().get(request, *args, **kwargs)

    def csv_response(self) -> StreamingHttpResponse:
        if hasattr(self, "get_filterset"):
            self.filterset = self.get_filterset(self.get_filterset_class())
            self.object_list = (
                self.filterset.qs if self.filterset.is_valid() else self.filterset.queryset.none()
            )
        else:
            self.object_list = self.get_queryset()
        table = self.get_table(**self.get_table_kwargs())

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        rows = (writer.writerow(row) for row in self.export_rows(table))
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.export_name}-{stamp}.csv"'
        return response

    def export_rows(self, table):
        """The header, then one list of cell values per row. A table with `export_values`
        streams plain database rows in chunks; otherwise django-tables2 renders every cell,
        which is fine for lists of hundreds of rows but not for hundreds of thousands."""
        exclude = self.export_exclude_columns()
        fast = getattr(table, "export_values", None)
        found = fast(exclude_columns=exclude) if fast else None
        return found if found is not None else table.as_values(exclude_columns=exclude)

    def export_exclude_columns(self) -> tuple[str, ...]:
        return tuple(getattr(self, "exclude_from_export", ()))

    def get_table_pagination(self, table):
        # The export is never paginated; the page is.
        if self.request.GET.get(self.export_trigger_param) == "csv":
            return False
        return super().get_table_pagination(table)


class OnceTokenMixin:
    """Server-side double-submit guard for create forms whose action has no natural key.

    The form carries a fresh token; a second POST with a used token is answered with where the first
    one went instead of doing the action again."""

    once_session_key = "backstock_used_tokens"

    @staticmethod
    def once_token_new() -> str:
        return uuid.uuid4().hex

    def once_token_seen(self, token: str) -> str | None:
        return self.request.session.get(self.once_session_key, {}).get(token)

    def once_token_use(self, token: str, url: str) -> None:
        used = self.request.session.get(self.once_session_key, {})
        used[token] = url
        # Keep the session small: remember only the latest few submissions.
        self.request.session[self.once_session_key] = dict(list(used.items())[-50:])
