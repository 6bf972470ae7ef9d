"""A customer or supplier typed by name or number resolves to exactly one active record, or to a
message that names the problem (inventory.lookups.NameOrNumberField)."""

from __future__ import annotations

import pytest
from django import forms

from orders.forms import PlaceOrderForm
from suppliers.forms import CreatePurchaseOrderForm
from tests.factories import CustomerFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def customer_field():
    return PlaceOrderForm().fields["customer"]


def supplier_field():
    return CreatePurchaseOrderForm().fields["supplier"]


def refused(field, text) -> forms.ValidationError:
    with pytest.raises(forms.ValidationError) as caught:
        field.clean(text)
    return caught.value


@pytest.fixture
def customers():
    return {
        name: CustomerFactory(name=name)
        for name in ("Acme Hardware", "Acme Tools", "Birch & Sons", "Cobalt Ltd")
    }


@pytest.mark.parametrize("typed", ["Birch & Sons", "birch & sons", "  BIRCH & SONS  "])
def test_a_whole_name_in_any_case_resolves(customers, typed):
    assert customer_field().clean(typed) == customers["Birch & Sons"]


def test_a_number_with_or_without_hash_resolves(customers):
    cobalt = customers["Cobalt Ltd"]
    assert customer_field().clean(str(cobalt.pk)) == cobalt
    assert customer_field().clean(f"#{cobalt.pk}") == cobalt


def test_a_whole_name_is_resolved_in_one_query(customers, django_assert_num_queries):
    with django_assert_num_queries(1):
        customer_field().clean("acme tools")


def test_part_of_several_names_is_ambiguous_and_lists_them(customers):
    error = refused(customer_field(), "acme")
    assert error.code == "ambiguous"
    message = error.messages[0]
    assert "“acme” matches several customers" in message
    assert f"Acme Hardware (#{customers['Acme Hardware'].pk})" in message
    assert f"Acme Tools (#{customers['Acme Tools'].pk})" in message


def test_part_of_one_name_is_not_guessed_but_suggested(customers):
    error = refused(customer_field(), "birch")
    assert error.code == "partial"
    assert "did you mean Birch & Sons" in error.messages[0]


def test_an_ambiguous_message_lists_a_few_names_only(db):
    for number in range(8):
        CustomerFactory(name=f"Same Name {number}")
    message = refused(customer_field(), "same name").messages[0]
    assert message.count("Same Name") == 5
    assert message.count(", …") == 1


@pytest.mark.parametrize("typed", ["Nobody at all", "<b>Nobody</b>"])
def test_an_unknown_name_is_refused(customers, typed):
    error = refused(customer_field(), typed)
    assert error.code == "unknown"
    assert error.messages == [f"No active customer is called “{typed}”."]


def test_an_unknown_number_is_refused(customers):
    error = refused(customer_field(), "#999999")
    assert error.code == "unknown_number"
    assert error.messages == ["No customer has the number 999999."]
    error = refused(customer_field(), "999999")
    assert error.messages == ["No active customer is called “999999” or has the number 999999."]


def test_an_inactive_customer_is_refused_by_name_and_by_number(customers):
    gone = CustomerFactory(name="Gone Trading", is_active=False)
    for typed in ("gone trading", str(gone.pk), f"#{gone.pk}"):
        error = refused(customer_field(), typed)
        assert error.code == "inactive"
        assert error.messages == [
            f"Gone Trading (#{gone.pk}) is an inactive customer; choose an active one."
        ]


def test_an_inactive_customer_is_never_suggested(customers):
    CustomerFactory(name="Acme Old", is_active=False)
    message = refused(customer_field(), "acme").messages[0]
    assert "Acme Old" not in message


@pytest.mark.parametrize("typed", ["", "   "])
def test_nothing_typed_is_required(typed):
    assert refused(customer_field(), typed).code == "required"


def test_a_name_made_of_digits_that_is_another_customers_number_asks_which(customers):
    acme = customers["Acme Hardware"]
    digits = CustomerFactory(name=str(acme.pk))
    error = refused(customer_field(), str(acme.pk))
    assert error.code == "name_and_number"
    assert f"#{digits.pk}" in error.messages[0]
    assert f"#{acme.pk}" in error.messages[0]
    assert customer_field().clean(f"#{acme.pk}") == acme
    assert customer_field().clean(f"#{digits.pk}") == digits


def test_suppliers_whose_names_differ_only_in_case(db):
    lower, upper = SupplierFactory(name="Acme"), SupplierFactory(name="ACME")
    assert supplier_field().clean("Acme") == lower
    assert supplier_field().clean("ACME") == upper
    error = refused(supplier_field(), "acme")
    assert error.code == "ambiguous"
    assert "“acme” matches several suppliers" in error.messages[0]


def test_a_supplier_resolves_by_name_or_number_and_inactive_is_refused(db):
    north = SupplierFactory(name="Northwind Supply")
    gone = SupplierFactory(name="Southwind Supply", is_active=False)
    assert supplier_field().clean("northwind supply") == north
    assert supplier_field().clean(f"#{north.pk}") == north
    assert refused(supplier_field(), "Southwind Supply").code == "inactive"
    assert refused(supplier_field(), str(gone.pk)).code == "inactive"
    assert refused(supplier_field(), "wind").code == "partial"
    assert refused(supplier_field(), "Eastwind").code == "unknown"


def test_a_preselected_record_is_shown_by_its_name(customers):
    form = PlaceOrderForm(initial={"customer": customers["Cobalt Ltd"]})
    assert 'value="Cobalt Ltd"' in str(form["customer"])
