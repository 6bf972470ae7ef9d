"""A record typed by its name or number instead of chosen from a list of every record.

The order and purchase order forms name one active customer or supplier. At thousands of them a
`<select>` of all takes seconds to render and is no use to scroll, so the field is a text box
with suggestions (a `<datalist>` that htmx fills from a small lookup view as the user types), and
the typed text is resolved here, on the server, to exactly one active record — or a message that
says what is wrong. A partial name is never guessed: it is answered with the names it matches.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import models
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.shortcuts import render
from django.views import View

# How many suggestions the lookup views send, and how many names an error message lists.
SUGGESTIONS = 20
NAMES_IN_MESSAGE = 5
# "42" or "#42": the number a record is shown with (its primary key), as links carry it.
NUMBER_RE = re.compile(r"^(?P<hash>#)?\s*(?P<pk>\d{1,18})$")


def _listed(records: list[models.Model]) -> str:
    names = ", ".join(f"{record.name} (#{record.pk})" for record in records[:NAMES_IN_MESSAGE])
    return names + (", …" if len(records) > NAMES_IN_MESSAGE else "")


def name_or_number_matches(model: type[models.Model], text: str) -> QuerySet:
    """Active records whose name contains the text (those starting with it first), or whose
    number it is; for the suggestions as the user types."""
    text = text.strip()
    # NUL cannot be stored, so nothing contains it (and PostgreSQL refuses it as a parameter).
    if not text or "\x00" in text:
        return model.objects.none()
    match = NUMBER_RE.match(text)
    condition = Q(name__icontains=text)
    if match:
        condition |= Q(pk=int(match["pk"]))
    return (
        model.objects.filter(condition, is_active=True)
        .annotate(
            starts=Case(
                When(name__istartswith=text, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("starts", "name", "pk")
    )


class NameOrNumberField(forms.CharField):
    """One active record of `model` (which has `name` and `is_active`), typed as its whole name in
    any case or as its number ("42" or "#42"); cleans to the model instance."""

    default_error_messages = {
        "unknown": "No active %(noun)s is called “%(value)s”%(or_number)s.",
        "unknown_number": "No %(noun)s has the number %(value)s.",
        "inactive": "%(name)s (#%(pk)s) is an inactive %(noun)s; choose an active one.",
        "partial": "“%(value)s” is not the whole name of a %(noun)s: did you mean %(names)s?",
        "ambiguous": "“%(value)s” matches several %(noun)ss: %(names)s. Type the whole name or "
        "the number.",
        "name_and_number": "“%(value)s” is the name of %(named)s (#%(named_pk)s) and the number of "
        "%(numbered)s: type #%(named_pk)s or #%(numbered_pk)s.",
    }

    def __init__(self, *, model: type[models.Model], noun: str, datalist_id: str, lookup_url, **kw):
        self.model = model
        self.noun = noun
        kw.setdefault("max_length", 200)
        kw.setdefault("help_text", f"Type a {noun}'s name or number, then pick a suggestion.")
        kw.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "list": datalist_id,
                    "autocomplete": "off",
                    "placeholder": "Name or number",
                    # htmx sends the input's own value (GET sends no other field), at most one
                    # request in flight, and fills the datalist with the options it answers.
                    "hx-get": lookup_url,
                    "hx-trigger": "input changed delay:250ms",
                    "hx-target": f"#{datalist_id}",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            ),
        )
        super().__init__(**kw)

    def prepare_value(self, value):
        # A preselected record (a link's ?customer=<id>) is shown by its name.
        if isinstance(value, self.model):
            return value.name
        return value

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return None
        return self.resolve(text)

    def _error(self, code: str, **params) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages[code], code=code, params={"noun": self.noun, **params}
        )

    def resolve(self, text: str) -> models.Model:
        match = NUMBER_RE.match(text)
        number = int(match["pk"]) if match else None
        explicit_number = bool(match and match["hash"])
        if explicit_number:
            condition = Q(pk=number)
        elif number is not None:
            condition = Q(name__iexact=text) | Q(pk=number)
        else:
            condition = Q(name__iexact=text)
        # Names are unique (customers ignoring case, suppliers as typed), so a handful of rows
        # is every match there can be.
        rows = list(self.model.objects.filter(condition).order_by("pk")[:10])
        numbered = next((row for row in rows if row.pk == number), None)
        # Every other row matched by name; the numbered one may have that name too.
        named = [
            row
            for row in rows
            if not explicit_number and (row.pk != number or row.name.upper() == text.upper())
        ]
        active_named = [row for row in named if row.is_active]
        if len(active_named) > 1:
            exact = [row for row in active_named if row.name == text]
            if len(exact) != 1:
                raise self._error("ambiguous", value=text, names=_listed(active_named))
            active_named = exact
        if active_named and numbered and numbered.is_active and numbered != active_named[0]:
            raise self._error(
                "name_and_number",
                value=text,
                named=active_named[0].name,
                named_pk=active_named[0].pk,
                numbered=numbered.name,
                numbered_pk=numbered.pk,
            )
        if active_named:
            return active_named[0]
        if numbered and numbered.is_active:
            return numbered
        gone = named[0] if named else numbered
        if gone is not None:
            raise self._error("inactive", name=gone.name, pk=gone.pk)
        if explicit_number:
            raise self._error("unknown_number", value=number)
        return self.resolve_partial(text, number)

    def resolve_partial(self, text: str, number: int | None) -> models.Model:
        """Nothing has that name or number: say which names contain the text, if any."""
        similar = list(
            name_or_number_matches(self.model, text).only("pk", "name")[: NAMES_IN_MESSAGE + 1]
        )
        if len(similar) == 1:
            raise self._error("partial", value=text, names=_listed(similar))
        if similar:
            raise self._error("ambiguous", value=text, names=_listed(similar))
        or_number = f" or has the number {number}" if number is not None else ""
        raise self._error("unknown", value=text, or_number=or_number)


class NameOrNumberLookupView(PermissionRequiredMixin, View):
    """htmx: the active records whose name contains what the user has typed (or whose number it
    is), as <option>s for a form's datalist; a few, never the whole list. Subclasses name the
    model, the query parameter the input sends, the partial and its variable."""

    model: type[models.Model]
    param: str
    template_name: str
    context_object_name: str

    def get(self, request):
        typed = request.GET.get(self.param, "")[:200]
        found = name_or_number_matches(self.model, typed).only("pk", "name", "email")
        return render(request, self.template_name, {self.context_object_name: found[:SUGGESTIONS]})
