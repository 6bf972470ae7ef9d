"""The fast HTML writer escapes exactly as Django's format_html does."""

import pytest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from common.html import html, html_join

TRICKY = ["a & b", "<script>alert('x')</script>", 'say "hi"', "it's", "plain", 42, 3.5, "€ ünï"]


@pytest.mark.parametrize("value", TRICKY)
def test_an_argument_is_escaped_as_format_html_escapes_it(value):
    assert html("<td title='{}'>{}</td>", value, value) == format_html(
        "<td title='{}'>{}</td>", value, value
    )


def test_safe_html_goes_in_as_it_is_and_the_result_is_safe():
    result = html("<p>{}</p>", mark_safe("<b>bold</b>"))
    assert result == "<p><b>bold</b></p>"
    assert isinstance(result, SafeString)
    assert html("<div>{}</div>", result) == "<div><p><b>bold</b></p></div>"


def test_join_matches_format_html_join():
    rows = [(value, value) for value in TRICKY]
    assert html_join("", "<li>{} {}</li>", rows) == format_html_join("", "<li>{} {}</li>", rows)


def test_a_template_without_arguments_is_refused():
    with pytest.raises(TypeError):
        html("<b>fixed</b>")
