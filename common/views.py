"""View bases every area's pages share: the form-page methods, streamed CSV export of a table,
double-submit tokens and the history (audit trail) page."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from common.audit import history_page
from common.exports import csv_download
from common.submissions import SubmissionDone


class FormPageMixin:
    """For every page with a form: GET shows it, POST sends it (HEAD and OPTIONS as Django
    answers them). Django's FormView also treats PUT as POST, which answered a PUT with the empty
    form's errors (200); PUT, PATCH and DELETE are refused with 405 instead."""

    http_method_names = ["get", "post", "head", "options"]


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
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return csv_download(self.export_rows(table), filename=f"{self.export_name}-{stamp}.csv")

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
    """Double-submit guard for create forms whose action has no natural key.

    The form carries a fresh token, which the creating service claims as its submission key in
    the same transaction (common.submissions). The database decides, not the session: concurrent
    copies of one post each read the session before any of them writes it. A copy of a
    submission that already created something is answered with what it created."""

    @staticmethod
    def once_token_new() -> str:
        return uuid.uuid4().hex

    @staticmethod
    def once_token_first[M: Model](done: SubmissionDone, model: type[M]) -> M:
        """What the first submission with the token created."""
        return get_object_or_404(model, pk=done.object_id)


class HistoryView(PermissionRequiredMixin, TemplateView):
    """One page of a document's history, newest first.

    Subclasses name the document's `model` and define `get_parts(subject)`: the history's parts
    (querysets in the shape `audit.audit_rows` gives). A document with a number (SO-…, PO-…) is
    not linked to itself in its own history."""

    permission_required = "inventory.view_audit"
    template_name = "common/history.html"
    model: type[Model]
    get_parts: Callable[[Model], list[QuerySet]]

    def get_subject(self):
        return get_object_or_404(self.model, pk=self.kwargs["pk"])

    def get_here(self, subject) -> str:
        return getattr(subject, "number", "")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        subject = self.get_subject()
        page = history_page(
            self.get_parts(subject), page=self.request.GET.get("page"), here=self.get_here(subject)
        )
        context.update(subject=subject, page_obj=page, entries=page.object_list)
        return context
