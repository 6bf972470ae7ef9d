"""Every create form creates once per submission, however often and however concurrently it is
sent: the form's token is claimed as a unique submission key in the creating transaction
(common.submissions), so the database decides, not the session.

The racing tests post one form with one token from ten threads at once through the test client,
all with the same session, and need PostgreSQL (see tests/conftest.py); the others also run on
SQLite."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from common.models import Submission
from common.submissions import SubmissionDone
from inventory.models import StockLevel
from inventory.services import stock_adjust
from orders.models import Allocation, Customer, OrderLine, Priority, SalesOrder
from orders.services import customer_create, order_place
from suppliers.models import PurchaseOrder, PurchaseOrderLine
from suppliers.services import purchase_order_create
from tests.concurrency_helpers import assert_no_errors, run_in_threads
from tests.factories import StockLevelFactory, UserFactory

RACERS = 10

ORDER_CREATE = "orders:order-create"
PO_CREATE = "suppliers:purchaseorder-create"
CUSTOMER_CREATE = "orders:customer-create"


def order_data(token, customer, warehouse, *, sku="WIDGET-1", quantity="3") -> dict:
    return {
        "once_token": token,
        "customer": customer.pk,
        "warehouse": warehouse.pk,
        "priority": Priority.NORMAL,
        "customer_reference": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        "lines-0-sku": sku,
        "lines-0-quantity": quantity,
    }


def po_data(token, supplier, warehouse, *, sku="WIDGET-1") -> dict:
    return {
        "once_token": token,
        "supplier": supplier.pk,
        "warehouse": warehouse.pk,
        "expected_date": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-sku": sku,
        "lines-0-quantity": "20",
        "lines-0-unit_cost": "1.50",
    }


def customer_data(token, name="Contoso Retail") -> dict:
    return {"once_token": token, "name": name, "email": "buyer@contoso.example"}


def form_token(client, url_name: str) -> str:
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    context = response.context
    return (
        context["once_token"] if "once_token" in context else context["form"]["once_token"].value()
    )


def customer_page(customer: Customer) -> str:
    return f"{reverse(ORDER_CREATE)}?customer={customer.pk}"


def stock(warehouse, product, by, on_hand=10) -> StockLevel:
    level = StockLevelFactory(product=product, warehouse=warehouse)
    stock_adjust(level_id=level.pk, delta=on_hand, reason="Opening stock", by=by)
    return level


def posts_at_once(client: Client, url: str, data: dict) -> list:
    """The same post sent RACERS times at once, each from its own client carrying the one
    session's cookie, as a browser does when the button is pressed again and again."""

    def post():
        racer = Client()
        racer.cookies.load({name: morsel.value for name, morsel in client.cookies.items()})
        return racer.post(url, data)

    outcomes = run_in_threads([post] * RACERS)
    assert_no_errors(outcomes)
    return [outcome.value for outcome in outcomes]


def assert_all_redirect_to(responses, url: str) -> None:
    got = [(response.status_code, response.headers.get("Location")) for response in responses]
    assert got == [(302, url)] * RACERS


# --- racing copies of one submission (PostgreSQL) ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_copies_of_a_new_order_at_once_place_one_order(
    staff_client, staff_user, warehouse, product, customer
):
    level = stock(warehouse, product, staff_user)
    token = form_token(staff_client, ORDER_CREATE)

    responses = posts_at_once(
        staff_client, reverse(ORDER_CREATE), order_data(token, customer, warehouse)
    )

    order = SalesOrder.objects.get()
    assert_all_redirect_to(responses, order.get_absolute_url())
    assert OrderLine.objects.count() == 1
    assert list(Allocation.objects.values_list("quantity", flat=True)) == [3]
    level.refresh_from_db()
    assert (level.on_hand, level.allocated, level.backordered) == (10, 3, 0)
    assert list(Submission.objects.values_list("key", "object_id")) == [(token, order.pk)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_copies_of_a_new_purchase_order_at_once_create_one_draft(
    manager_client, supplier, warehouse, product
):
    token = form_token(manager_client, PO_CREATE)

    responses = posts_at_once(
        manager_client, reverse(PO_CREATE), po_data(token, supplier, warehouse)
    )

    po = PurchaseOrder.objects.get()
    assert_all_redirect_to(responses, po.get_absolute_url())
    assert list(PurchaseOrderLine.objects.values_list("quantity_ordered", flat=True)) == [20]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_copies_of_a_new_customer_at_once_add_one_and_all_go_on_to_the_order(
    staff_client,
):
    token = form_token(staff_client, CUSTOMER_CREATE)

    responses = posts_at_once(staff_client, reverse(CUSTOMER_CREATE), customer_data(token))

    customer = Customer.objects.get()
    assert customer.name == "Contoso Retail"
    assert_all_redirect_to(responses, customer_page(customer))


# --- one submission sent again (any database) ---------------------------------------------------


@pytest.mark.django_db
def test_an_order_sent_again_from_a_new_session_places_nothing_twice(
    client, staff_user, warehouse, product, customer
):
    level = stock(warehouse, product, staff_user)
    client.force_login(staff_user)
    token = form_token(client, ORDER_CREATE)
    data = order_data(token, customer, warehouse)
    first = client.post(reverse(ORDER_CREATE), data)
    order = SalesOrder.objects.get()
    assertRedirects(first, order.get_absolute_url(), fetch_redirect_response=False)
    # Signing in again starts a new session, which knows nothing of the first post.
    client.logout()
    client.force_login(staff_user)

    again = client.post(reverse(ORDER_CREATE), data, follow=True)

    assertRedirects(again, order.get_absolute_url())
    assertContains(again, f"This order was already placed: {order.number}.")
    assert SalesOrder.objects.count() == 1
    level.refresh_from_db()
    assert level.allocated == 3


@pytest.mark.django_db
def test_a_purchase_order_sent_again_from_a_new_session_creates_nothing_twice(
    client, manager_user, supplier, warehouse, product
):
    client.force_login(manager_user)
    token = form_token(client, PO_CREATE)
    data = po_data(token, supplier, warehouse)
    client.post(reverse(PO_CREATE), data)
    po = PurchaseOrder.objects.get()
    client.logout()
    client.force_login(manager_user)

    again = client.post(reverse(PO_CREATE), data, follow=True)

    assertRedirects(again, po.get_absolute_url())
    assertContains(again, f"This purchase order was already created: {po.number}.")
    assert PurchaseOrder.objects.count() == 1


@pytest.mark.django_db
def test_a_customer_sent_again_goes_on_to_the_order_instead_of_already_exists(staff_client):
    token = form_token(staff_client, CUSTOMER_CREATE)
    staff_client.post(reverse(CUSTOMER_CREATE), customer_data(token))
    customer = Customer.objects.get()

    again = staff_client.post(reverse(CUSTOMER_CREATE), customer_data(token), follow=True)

    assertRedirects(again, customer_page(customer))
    assertContains(again, "Customer Contoso Retail was already added.")
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_a_customer_of_the_same_name_with_a_fresh_token_still_already_exists(staff_client):
    staff_client.post(
        reverse(CUSTOMER_CREATE), customer_data(form_token(staff_client, CUSTOMER_CREATE))
    )

    response = staff_client.post(
        reverse(CUSTOMER_CREATE), customer_data(form_token(staff_client, CUSTOMER_CREATE))
    )

    assertContains(response, "A customer called Contoso Retail already exists.")
    assert Customer.objects.count() == 1


# --- a token that is not the user's own ---------------------------------------------------------


@pytest.mark.django_db
def test_another_users_token_neither_places_an_order_nor_shows_theirs(
    staff_client, staff_user, warehouse, product, customer
):
    stock(warehouse, product, staff_user)
    token = form_token(staff_client, ORDER_CREATE)
    staff_client.post(reverse(ORDER_CREATE), order_data(token, customer, warehouse))
    theirs = SalesOrder.objects.get()
    other = UserFactory(username="other-clerk")
    other.groups.set(staff_user.groups.all())
    client = Client()
    client.force_login(other)

    response = client.post(reverse(ORDER_CREATE), order_data(token, customer, warehouse))

    assertContains(response, "This form was already used; reload the page and submit it again.")
    assertNotContains(response, theirs.number)
    assert SalesOrder.objects.count() == 1


@pytest.mark.django_db
def test_another_users_token_does_not_create_a_purchase_order(
    manager_client, manager_user, supplier, warehouse, product
):
    token = form_token(manager_client, PO_CREATE)
    manager_client.post(reverse(PO_CREATE), po_data(token, supplier, warehouse))
    other = UserFactory(username="other-buyer")
    other.groups.set(manager_user.groups.all())
    client = Client()
    client.force_login(other)

    response = client.post(reverse(PO_CREATE), po_data(token, supplier, warehouse))

    assertContains(response, "This form was already used")
    assert PurchaseOrder.objects.count() == 1


@pytest.mark.django_db
def test_an_order_forms_token_is_refused_by_the_purchase_order_form(
    client, staff_user, manager_user, supplier, warehouse, product, customer
):
    stock(warehouse, product, staff_user)
    staff_user.groups.add(*manager_user.groups.all())
    client.force_login(staff_user)
    token = form_token(client, ORDER_CREATE)
    # Followed, so the order's own success message is shown and gone.
    client.post(reverse(ORDER_CREATE), order_data(token, customer, warehouse), follow=True)
    order = SalesOrder.objects.get()

    response = client.post(reverse(PO_CREATE), po_data(token, supplier, warehouse))

    assertContains(response, "This form was already used")
    assertNotContains(response, order.number)
    assert not PurchaseOrder.objects.exists()


# --- the services -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_placement_that_fails_leaves_its_key_free_for_the_corrected_form(
    staff_user, warehouse, product, customer
):
    key = uuid.uuid4().hex
    with pytest.raises(ValidationError):
        order_place(
            customer_id=customer.pk,
            warehouse_id=warehouse.pk,
            lines=[(product.pk, 0)],
            by=staff_user,
            submission_key=key,
        )
    assert not Submission.objects.exists()

    order = order_place(
        customer_id=customer.pk,
        warehouse_id=warehouse.pk,
        lines=[(product.pk, 2)],
        by=staff_user,
        submission_key=key,
    )

    with pytest.raises(SubmissionDone) as done:
        order_place(
            customer_id=customer.pk,
            warehouse_id=warehouse.pk,
            lines=[(product.pk, 2)],
            by=staff_user,
            submission_key=key,
        )
    assert done.value.object_id == order.pk
    assert SalesOrder.objects.count() == 1


@pytest.mark.django_db
def test_services_record_what_each_key_created(staff_user, supplier, warehouse, product):
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        expected_date=timezone.localdate(),
        lines=[(product.pk, 5, "2.00")],
        by=staff_user,
        submission_key="po-key",
    )
    customer = customer_create(name="Fabrikam", by=staff_user, submission_key="customer-key")

    assert set(Submission.objects.values_list("key", "kind", "object_id", "created_by")) == {
        ("po-key", "suppliers.purchaseorder", po.pk, staff_user.pk),
        ("customer-key", "orders.customer", customer.pk, staff_user.pk),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 65, "tab\there", 12345])
def test_a_key_that_is_not_a_token_is_refused(staff_user, key):
    with pytest.raises(ValidationError) as error:
        customer_create(name="Fabrikam", by=staff_user, submission_key=key)
    assert error.value.code == "bad_submission_key"
    assert not Customer.objects.exists()
