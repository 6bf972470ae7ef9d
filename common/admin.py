"""Building blocks every app's admin shares: read-only history rows, saving only the edited
columns, and search by document number."""

import re

from django.conf import settings
from django.db.models import Q

MAX_QUANTITY = settings.BACKSTOCK_MAX_QUANTITY


class ReadOnlyAdminMixin:
    """Ledger and history rows: visible in the admin, never added, edited or deleted there.

    Works for ModelAdmin and inlines alike (inlines pass the parent object)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def edited_columns(obj, names) -> list[str]:
    """The model columns among a form's changed field names."""
    columns = {
        field.name
        for field in obj._meta.concrete_fields
        if not field.primary_key and not getattr(field, "generated", False)
    }
    return [name for name in names if name in columns]


class EditedColumnsOnlyMixin:
    """Save only the columns an admin form actually edited.

    Services change quantities and statuses under row locks while an admin page sits open; a plain
    save() would write the values the page loaded back over them. Writing just the edited columns
    leaves every service-owned column alone.
    """

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        fields = edited_columns(obj, form.changed_data)
        if fields:
            obj.save(update_fields=fields)

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in formset.new_objects:
            obj.save()
        for obj, changed in formset.changed_objects:
            fields = edited_columns(obj, changed)
            if fields:
                obj.save(update_fields=fields)
        formset.save_m2m()


_NUMBER_RE = re.compile(r"^#?(?P<prefix>[A-Za-z]{2,3})[- ]?(?P<pk>\d{1,18})$")


def parse_document_number(term: str) -> tuple[str, int] | None:
    """Split a typed document number ("SO-000123", "po45", "REL-7") into (prefix, pk)."""
    match = _NUMBER_RE.match(term.strip())
    if not match:
        return None
    return match["prefix"].upper(), int(match["pk"])


class DocumentNumberSearchMixin:
    """Let the search box find documents by the number staff read off a page.

    Numbers are derived from primary keys, so there is no column to search: a typed number becomes
    a filter on the id it was made from, in addition to the normal search fields. Subclasses map
    each prefix to the lookup holding that id, e.g. {"SO": "pk"} or {"SO": "order_id"}.
    """

    number_lookups: dict[str, str] = {}

    def number_filter(self, prefix: str, pk: int) -> Q | None:
        lookup = self.number_lookups.get(prefix)
        return Q(**{lookup: pk}) if lookup else None

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        parsed = parse_document_number(search_term)
        condition = self.number_filter(*parsed) if parsed else None
        if condition is not None:
            results = results | queryset.filter(condition)
        return results, may_have_duplicates
