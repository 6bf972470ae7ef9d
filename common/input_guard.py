"""Control characters and unbounded structures in request data, refused before they reach a view.

PostgreSQL refuses NUL in text, and no field of the application means a control character, so the
rule is one for every request:

- a query string (keys and values) or a path with any C0 control character or DEL is answered
  with the 400 page: a link or a bookmark never carries one, so nothing is lost;
- a form post (url-encoded or multipart fields, not file contents) is still handed to its view,
  so the person sees the form they posted with a message on the field: the middleware drops the
  characters that no field allows (everything but tab, line feed and carriage return) and marks
  the value as refused, and `form_refused_fields_check`, installed on every Django form by
  `forms_guard_install` (CommonConfig.ready), turns the mark into a form error. A view that reads
  a value without a form gets the text without those characters, so they never reach a query.
  Tab and line breaks are kept for multi-line text (Textarea widgets) and refused by the form
  check in every other text field.

`json_loads_bounded` parses JSON from a request only once its size and nesting are known to be
small, so a crafted value cannot exhaust the recursion limit or the memory of the parser.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from django import forms
from django.core.exceptions import BadRequest
from django.http import QueryDict

# Every C0 control character and DEL: never in a URL, never in a single-line field.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# The ones multi-line text may hold: tab and the line breaks a browser sends (CR LF).
LINE_CHARACTERS = re.compile(r"[\t\n\r]")
# What no field holds, multi-line or not.
NEVER_ALLOWED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

REFUSED_MESSAGE = (
    "This contained invisible control characters (such as NUL) that cannot be saved. They have "
    "been removed: check the text and submit again."
)
SINGLE_LINE_MESSAGE = "Tabs and line breaks are not allowed here; keep this to one line."


class RefusedText(str):
    """A posted value that held characters no field allows, with those characters removed."""

    __slots__ = ()


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether `text` holds a control character; tab and line breaks pass when `multiline`."""
    return bool((NEVER_ALLOWED if multiline else CONTROL_CHARACTERS).search(text))


class InputGuardMiddleware:
    """Refuses control characters in the URL (400 page) and marks them in posted form fields.

    It runs before sessions and authentication, so a refused URL costs no database query; the
    400 page it leads to is rendered without the request for the same reason."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_control_characters(request.path) or any(
            has_control_characters(text) for text in query_dict_texts(request.GET)
        ):
            # Django turns BadRequest into handler400's page (templates/400.html).
            raise BadRequest("Control character in the URL.")
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            refused = posted_fields_guard(request.POST)
            if refused is not None:
                request.POST = refused
        return self.get_response(request)


def query_dict_texts(data: QueryDict) -> Iterable[str]:
    for key, values in data.lists():
        yield key
        yield from values


def posted_fields_guard(data: QueryDict) -> QueryDict | None:
    """A copy of `data` with every value holding a never-allowed character replaced by a
    RefusedText without it; None when nothing needs replacing. A field name with a control
    character names no field, so it is refused with the 400 page like a URL."""
    if any(has_control_characters(key) for key in data):
        raise BadRequest("Control character in a form field name.")
    if not any(NEVER_ALLOWED.search(value) for _, values in data.lists() for value in values):
        return None
    guarded = data.copy()
    for key, values in data.lists():
        guarded.setlist(
            key,
            [
                RefusedText(NEVER_ALLOWED.sub("", value)) if NEVER_ALLOWED.search(value) else value
                for value in values
            ],
        )
    # Read-only again, as Django hands request.POST to views.
    guarded._mutable = False
    return guarded


def form_refused_fields_check(form: forms.BaseForm) -> None:
    """Puts the control-character error on each field of a bound form that was posted with one.

    Run after the form's own cleaning, so the field shows this error instead of whatever its
    cleaning made of the text without the characters."""
    for name, field in form.fields.items():
        if field.disabled:
            continue
        values = form[name].data
        texts = [
            value
            for value in (values if isinstance(values, list | tuple) else [values])
            if isinstance(value, str)
        ]
        if any(isinstance(text, RefusedText) or NEVER_ALLOWED.search(text) for text in texts):
            message = REFUSED_MESSAGE
        elif (
            isinstance(field, forms.CharField)
            and not isinstance(field.widget, forms.Textarea)
            and any(LINE_CHARACTERS.search(text.strip()) for text in texts)
        ):
            message = SINGLE_LINE_MESSAGE
        else:
            continue
        # In place of the field's errors, but without add_error's removal from cleaned_data: a
        # formset reads its management form's cleaned_data even when that form is invalid, and
        # what is left there holds no control character.
        form.errors[name] = form.error_class(
            forms.ValidationError(message, code="control_characters").error_list,
            renderer=form.renderer,
        )


_form_full_clean = forms.BaseForm.full_clean


def _guarded_full_clean(form: forms.BaseForm) -> None:
    _form_full_clean(form)
    # The same forms Django cleans: bound, and not an untouched extra form of a formset.
    if form.is_bound and (not form.empty_permitted or form.has_changed()):
        form_refused_fields_check(form)


def forms_guard_install() -> None:
    """Makes every Django form, the admin's included, run form_refused_fields_check. Django has
    no setting for a check on every form, and the project's forms share no base class."""
    forms.BaseForm.full_clean = _guarded_full_clean


class InputTooLarge(ValueError):
    """JSON from a request that is longer or nested deeper than its reader allows."""


STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKETS = re.compile(r"[\[\]{}]")


def json_nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text`, brackets inside strings aside."""
    depth = deepest = 0
    for bracket in BRACKETS.findall(STRING_LITERAL.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def json_loads_bounded(text: str, *, max_chars: int, max_depth: int):
    """json.loads, once `text` is known to be at most `max_chars` long and `max_depth` deep;
    raises ValueError (InputTooLarge or json's own) otherwise."""
    if len(text) > max_chars:
        raise InputTooLarge(f"More than {max_chars} characters.")
    if json_nesting_depth(text) > max_depth:
        raise InputTooLarge(f"Nested more than {max_depth} deep.")
    return json.loads(text)
