"""Numbers typed or linked with Unicode digits ("²", "٣") are read as text, never passed to
int() where they would fail: each gives a clear answer, not a server error."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from common.cleaning import plain_int
from inventory.forms import IdListField
from inventory.models import StockLevel
from orders.imports.check import _priority_parse
from tests.helpers import give_stock, level_for

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²": str.isdigit() says yes, int() refuses it


@pytest.mark.parametrize(
    "path",
    [
        f"/orders/new/?customer={SUPERSCRIPT_TWO}",
        f"/purchase-orders/new/?supplier={SUPERSCRIPT_TWO}&warehouse={SUPERSCRIPT_TWO}",
        f"/reorder/?supplier={SUPERSCRIPT_TWO}",
        f"/receiving/?supplier={SUPERSCRIPT_TWO}",
        f"/purchase-orders/?supplier={SUPERSCRIPT_TWO}",
    ],
)
def test_pages_linked_with_a_unicode_digit_answer(client, manager_user, path):
    client.force_login(manager_user)

    response = client.get(path)

    assert response.status_code == 200


def test_safety_stock_for_rows_named_by_a_unicode_digit_is_refused(
    client, staff_user, warehouse, product
):
    give_stock(product, warehouse, 5, by=staff_user)
    level = level_for(product, warehouse)
    client.force_login(staff_user)

    response = client.post(
        reverse("inventory:safetystock-bulk"),
        {"levels": [str(level.pk), SUPERSCRIPT_TWO], "value": "3", "reason": ""},
    )

    assert response.status_code in (200, 302)
    assert StockLevel.objects.get(pk=level.pk).safety_stock == level.safety_stock
    with pytest.raises(ValidationError):
        IdListField().clean([SUPERSCRIPT_TWO])


def test_import_priority_written_with_a_unicode_digit_is_not_a_priority():
    assert _priority_parse(SUPERSCRIPT_TWO) is None
    assert _priority_parse("2") == 2


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("42", 42),
        ("0", 0),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        (SUPERSCRIPT_TWO, None),
        ("\u0663", None),  # Arabic-Indic three: int() would read it as 3
        ("-1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
    ],
)
def test_plain_int_reads_ascii_digits_only(text, number):
    assert plain_int(text) == number
