"""Control characters and deep structures in request data (common.input_guard): the 400 page for a
URL, a form error for a form field, a clear refusal for the release's moved-up lines."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from common.input_guard import InputTooLarge, json_loads_bounded
from orders.forms.release import MOVED_UP_ERROR, MOVED_UP_REASON_ERROR
from suppliers.models import PurchaseOrder, PurchaseOrderStatus
from tests.helpers import line_of, sent_po
from tests.orders.test_release_views import post_data, queue, review_url, state  # noqa: F401

NUL_URLS = [
    "/orders/new/sku-lookup/?q=%00",
    "/reorder/?supplier=%00",
    "/orders/?q=a%00b",
    "/backorders/?q=%01",
    "/stock/?q=%1b",
    "/purchase-orders/?status=%7f",
    "/suppliers/?q=tab%09",
    "/orders/?q%00=1",
    "/stock/%00/",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_control_character_in_the_url_gets_the_400_page(manager_client, url):
    response = manager_client.get(url)
    assert response.status_code == 400
    assert b"This request could not be read" in response.content


def test_plain_filters_still_work(manager_client):
    assert manager_client.get("/orders/new/sku-lookup/?q=WID").status_code == 200
    assert manager_client.get("/reorder/?supplier=North").status_code == 200


def test_the_400_page_needs_no_sign_in(client):
    response = client.get("/orders/?q=%00")
    assert response.status_code == 400
    assert b"Back to home" in response.content


@pytest.fixture
def open_po(supplier, warehouse, product, manager_user):
    return sent_po(supplier, warehouse, [(product, 5)], by=manager_user)


def cancel(client, po, reason):
    return client.post(reverse("suppliers:purchaseorder-cancel", args=[po.pk]), {"reason": reason})


@pytest.mark.parametrize("reason", ["Late\x00", "Late\x0bagain", "\x7fLate"])
def test_a_control_character_in_a_form_field_is_a_form_error(manager_client, open_po, reason):
    response = cancel(manager_client, open_po, reason)
    assert response.status_code == 200
    assert "invisible control characters" in response.context["form"].errors["reason"][0]
    # The text comes back without the characters, ready to be sent again.
    assert "\x00" not in response.context["form"]["reason"].value()
    open_po.refresh_from_db()
    assert open_po.status != PurchaseOrderStatus.CANCELLED


def test_tabs_and_line_breaks_are_fine_in_multi_line_text(manager_client, open_po):
    response = cancel(manager_client, open_po, "Supplier stopped the line\r\n\tsee mail")
    assert response.status_code == 302
    assert PurchaseOrder.objects.get(pk=open_po.pk).cancel_reason == (
        "Supplier stopped the line\r\n\tsee mail"
    )


def test_a_control_character_in_a_field_name_gets_the_400_page(manager_client, open_po):
    response = manager_client.post(
        reverse("suppliers:purchaseorder-cancel", args=[open_po.pk]),
        {"reason": "Late", "x\x00": "1"},
    )
    assert response.status_code == 400


def test_a_move_up_reason_with_a_nul_is_refused_with_a_message_and_moves_nothing(
    staff_client,
    queue,  # noqa: F811
    warehouse,
    product,
):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    response = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, move_up=str(newest.pk), **{f"reason_{newest.pk}": "Hospital\x00 order"}),
    )
    assert any("invisible control characters" in error for error in response.context["errors"])
    # Nothing was moved up: the confirm form carries no moved-up line.
    assert not json.loads(response.context["confirm_form"].initial.get("moved_up") or "[]")


def test_a_tab_in_a_single_line_field_is_a_form_error(staff_client, queue, warehouse, product):  # noqa: F811
    page = staff_client.get(review_url(warehouse, [product]))
    before = state()
    response = staff_client.post(reverse("orders:release-review"), post_data(page, note="a\tb"))
    assert "one line" in response.context["selection_form"].errors["note"][0]
    assert state() == before


def test_confirming_a_moved_up_reason_with_a_nul_is_refused(
    staff_client,
    queue,  # noqa: F811
    warehouse,
    product,
):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    before = state()
    # What the page's hidden field holds when the reason was typed with a NUL: JSON escapes it.
    moved_up = json.dumps([[newest.pk, "Hospital\x00order"]])
    assert "\\u0000" in moved_up
    response = staff_client.post(
        reverse("orders:release-review"), post_data(page, moved_up=moved_up)
    )
    assert response.status_code == 200
    assert response.context["selection_form"].errors["moved_up"] == [MOVED_UP_REASON_ERROR]
    assert state() == before


def test_confirming_a_raw_nul_in_the_moved_up_lines_is_a_form_error(
    staff_client,
    queue,  # noqa: F811
    warehouse,
    product,
):
    page = staff_client.get(review_url(warehouse, [product]))
    newest = line_of(queue["newest_normal"], product)
    before = state()
    response = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, moved_up=f'[[{newest.pk}, "Hospital\x00order"]]'),
    )
    assert response.status_code == 200
    assert (
        "invisible control characters" in response.context["selection_form"].errors["moved_up"][0]
    )
    assert state() == before


def test_deeply_nested_moved_up_lines_are_refused_before_parsing(
    staff_client,
    queue,  # noqa: F811
    warehouse,
    product,
):
    page = staff_client.get(review_url(warehouse, [product]))
    before = state()
    response = staff_client.post(
        reverse("orders:release-review"),
        post_data(page, moved_up="[" * 5000 + "]" * 5000),
    )
    assert response.status_code == 200
    assert response.context["selection_form"].errors["moved_up"] == [MOVED_UP_ERROR]
    assert MOVED_UP_ERROR in response.content.decode()
    assert state() == before


def test_json_loads_bounded_counts_brackets_outside_strings_only():
    assert json_loads_bounded('[[1, "[[[[{{"]]', max_chars=100, max_depth=2) == [[1, "[[[[{{"]]
    assert json_loads_bounded('[[1, "\\"[["]]', max_chars=100, max_depth=2) == [[1, '"[[']]
    with pytest.raises(InputTooLarge):
        json_loads_bounded("[[[1]]]", max_chars=100, max_depth=2)
    with pytest.raises(InputTooLarge):
        json_loads_bounded("[1, 2, 3]", max_chars=5, max_depth=2)


@pytest.mark.postgres
def test_on_postgresql_no_nul_reaches_the_database(manager_client, open_po, product):
    assert manager_client.get("/orders/new/sku-lookup/?q=%00").status_code == 400
    response = cancel(manager_client, open_po, "Late\x00")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    # A sign-in is a form read by django-axes too, which records failed attempts by user name.
    manager_client.logout()
    response = manager_client.post(
        reverse("login"), {"username": "manager\x00-user", "password": "wrong"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"]
