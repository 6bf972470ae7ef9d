"""One rule for whole numbers (issue 11): every whole-number field, quantities and ids alike, takes
ASCII digits only, with a leading minus only where negatives are allowed, and says so with one
message. Also: a UTF-16 CSV is named as such, and form pages refuse PUT, PATCH and DELETE."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from common.cleaning import (
    UTF16_MESSAGE,
    WHOLE_NUMBER_MESSAGE,
    WHOLE_NUMBER_RULE,
    id_int,
    plain_int,
    quantity_clean,
)
from common.forms import QuantityField, WholeNumberField
from inventory.forms import (
    AdjustStockForm,
    BulkSafetyStockForm,
    ChartWarehouseForm,
    SetSafetyStockForm,
    TransferStockForm,
)
from inventory.models import Product, StockLevel, StockMovement
from orders.filters import SalesOrderFilter
from orders.forms.orders import OrderLineForm, ShipOrderForm
from orders.forms.release import ReleaseLinesForm, ReleaseSelectionForm
from orders.imports.check import _quantity_parse
from orders.models import OrderLine, SalesOrder
from suppliers.forms import PurchaseOrderLineForm, ReceiveShipmentForm
from tests.factories import WarehouseFactory
from tests.helpers import give_stock, level_for, place, sent_po, stock_snapshot

# Each is a whole number to int(), and none is written the one way.
REFUSED = [
    "\u0661\u0662",  # "١٢", Arabic-Indic digits
    "\uff11\uff12",  # "１２", full-width digits
    "+12",
    "1_000",
    "12.5",
    "1e3",
    "1 000",
]
# Written the one way: spaces around the number are ignored, and a zero decimal part (as
# spreadsheets export whole numbers) is a whole number, as before.
ACCEPTED = [("12", 12), (" 12 ", 12), ("12.0", 12), ("0012", 12)]


def _form_error(form, field: str) -> list[str]:
    assert not form.is_valid()
    return form.errors[field]


# --- The rule itself ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", REFUSED)
def test_the_field_and_the_reader_refuse_other_spellings_with_one_message(text):
    with pytest.raises(ValidationError) as field_error:
        WholeNumberField().clean(text)
    with pytest.raises(ValidationError) as reader_error:
        quantity_clean(text)

    assert field_error.value.messages == [WHOLE_NUMBER_MESSAGE]
    # The services' reader names the field, as import rows need.
    assert reader_error.value.messages == [f"The quantity must be {WHOLE_NUMBER_RULE}."]


@pytest.mark.parametrize(("text", "number"), ACCEPTED)
def test_the_field_and_the_reader_agree_on_whole_numbers(text, number):
    assert WholeNumberField().clean(text) == number
    assert QuantityField().clean(text) == number
    assert quantity_clean(text) == number


@pytest.mark.parametrize("text", [*REFUSED, "12.0", "-12"])
def test_ids_are_ascii_digits_only(text):
    with pytest.raises(ValueError):
        id_int(text)
    assert plain_int(text) is None


def test_ids_are_read_from_ascii_digits():
    assert id_int("12") == 12
    assert id_int(" 12 ") == 12
    assert id_int(12) == 12


def test_a_minus_sign_is_only_for_fields_that_take_negatives():
    with pytest.raises(ValidationError) as excinfo:
        QuantityField().clean("-3")
    assert excinfo.value.messages == ["Enter a quantity of at least 1."]
    assert WholeNumberField(min_value=-10).clean("-3") == -3
    assert quantity_clean("-3", field="adjustment", signed=True) == -3
    with pytest.raises(ValidationError):
        quantity_clean("+3", field="adjustment", signed=True)


def test_an_absurdly_long_number_is_too_large_not_a_server_error():
    with pytest.raises(ValidationError) as excinfo:
        QuantityField().clean("9" * 5000)
    assert [error.code for error in excinfo.value.error_list] == ["max_value"]


# --- Every form that takes a whole number ---------------------------------------------------------


@pytest.fixture
def order_ready(staff_user, warehouse, product, customer):
    give_stock(product, warehouse, 5, by=staff_user)
    return place(customer, warehouse, [(product, 3)], by=staff_user)


@pytest.mark.django_db
@pytest.mark.parametrize("text", REFUSED)
def test_every_quantity_form_refuses_other_spellings(
    text, staff_user, warehouse, product, supplier, order_ready
):
    level = level_for(product, warehouse)
    po = sent_po(supplier, warehouse, [(product, 4)], by=staff_user)
    other = WarehouseFactory(code="EAST")
    forms = [
        (OrderLineForm({"sku": product.sku, "quantity": text}), "quantity"),
        (PurchaseOrderLineForm({"sku": product.sku, "quantity": text}), "quantity"),
        (SetSafetyStockForm({"value": text}), "value"),
        (BulkSafetyStockForm({"levels": [str(level.pk)], "value": text}), "value"),
        (AdjustStockForm({"mode": "add", "quantity": text, "reason": "Found"}), "quantity"),
        (
            TransferStockForm(
                {"to_warehouse": str(other.pk), "quantity": text, "reason": "Move"},
                from_warehouse_id=warehouse.pk,
            ),
            "quantity",
        ),
    ]
    po_line = po.lines.get()
    receive = ReceiveShipmentForm({f"line_{po_line.pk}": text}, lines=[po_line])
    forms.append((receive, receive.field_name(po_line)))
    order_line = order_ready.lines.get()
    ship = ShipOrderForm({f"line_{order_line.pk}": text}, lines=[order_line])
    forms.append((ship, ship.field_name(order_line)))

    for form, field in forms:
        assert _form_error(form, field) == [WHOLE_NUMBER_MESSAGE], type(form).__name__


@pytest.mark.parametrize("text", REFUSED)
def test_release_boxes_and_id_fields_refuse_other_spellings(text):
    release_box = ReleaseLinesForm.quantity_field(
        type("Line", (), {"quantity": 1, "order_number": "SO-1"})()
    )
    with pytest.raises(ValidationError) as excinfo:
        release_box.clean(text)
    assert excinfo.value.messages == [WHOLE_NUMBER_MESSAGE]

    assert _form_error(ChartWarehouseForm({"warehouse": text}), "warehouse") == [
        WHOLE_NUMBER_MESSAGE
    ]
    selection = ReleaseSelectionForm({"shipment": text})
    assert _form_error(selection, "shipment") == [WHOLE_NUMBER_MESSAGE]


@pytest.mark.django_db
@pytest.mark.parametrize("text", REFUSED)
def test_the_order_list_age_filter_refuses_other_spellings(text):
    orders = SalesOrderFilter({"older_than": text}, queryset=SalesOrder.objects.all())

    assert not orders.is_valid()
    assert orders.errors["older_than"] == [WHOLE_NUMBER_MESSAGE]


@pytest.mark.parametrize("text", REFUSED)
def test_import_quantities_refuse_other_spellings(text):
    with pytest.raises(ValidationError) as excinfo:
        _quantity_parse(text)
    assert excinfo.value.messages == [f"The quantity must be {WHOLE_NUMBER_RULE}."]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11\uff12", "+2", "1_0"])
def test_pages_change_nothing_for_other_spellings(
    staff_client, staff_user, warehouse, product, text
):
    level = give_stock(product, warehouse, 5, by=staff_user)
    before = stock_snapshot(), StockMovement.objects.count()

    adjust = staff_client.post(
        reverse("inventory:stocklevel-adjust", args=[level.pk]),
        {"mode": "add", "quantity": text, "reason": "Found"},
    )
    safety = staff_client.post(
        reverse("inventory:safetystock-edit", args=[level.pk]), {"value": text}
    )

    assert adjust.status_code == 200
    assert WHOLE_NUMBER_MESSAGE in adjust.content.decode()
    assert safety.status_code in (200, 302)
    assert (stock_snapshot(), StockMovement.objects.count()) == before
    assert StockLevel.objects.get(pk=level.pk).safety_stock == level.safety_stock


@pytest.mark.django_db
def test_ship_page_changes_nothing_for_full_width_digits(staff_client, order_ready):
    line = order_ready.lines.get()
    before = stock_snapshot()

    response = staff_client.post(
        reverse("orders:order-ship", args=[order_ready.pk]), {f"line_{line.pk}": "\uff13"}
    )

    assert response.status_code == 200
    assert WHOLE_NUMBER_MESSAGE in response.content.decode()
    assert stock_snapshot() == before
    assert OrderLine.objects.get(pk=line.pk).quantity_shipped == 0


@pytest.mark.django_db
def test_purchase_order_numbers_in_other_digits_match_nothing(
    manager_client, staff_user, supplier, warehouse, product
):
    po = sent_po(supplier, warehouse, [(product, 4)], by=staff_user)
    digits = str(po.pk).translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    found = manager_client.get(reverse("suppliers:purchaseorder-list"), {"number": str(po.pk)})
    other = manager_client.get(reverse("suppliers:purchaseorder-list"), {"number": digits})

    assert po.number in found.content.decode()
    assert other.status_code == 200
    assert po.number not in other.content.decode()


# --- Item 8: UTF-16 uploads and form pages' methods -----------------------------------------------

UTF16_ORDERS = "order_ref,customer,warehouse,priority,sku,quantity\nA-1,Acme,MAIN,normal,W-1,2\n"
UTF16_PRODUCTS = "sku,name,unit\nNEW-1,New thing,each\n"


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_order_import_is_named_as_utf16(staff_client, encoding):
    data = UTF16_ORDERS.encode(encoding)
    file = SimpleUploadedFile("orders.csv", data, content_type="text/csv")

    response = staff_client.post(reverse("orders:order-import"), {"file": file}, follow=True)

    assert UTF16_MESSAGE in response.content.decode()
    assert "binary data" not in response.content.decode()
    assert SalesOrder.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_product_import_is_named_as_utf16(manager_client, encoding):
    data = UTF16_PRODUCTS.encode(encoding)
    file = SimpleUploadedFile("products.csv", data, content_type="text/csv")

    response = manager_client.post(reverse("suppliers:product-import"), {"file": file}, follow=True)

    assert UTF16_MESSAGE in response.content.decode()
    assert "binary data" not in response.content.decode()
    assert not Product.objects.filter(sku="NEW-1").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize(
    "page",
    [
        "inventory:stocklevel-adjust",
        "inventory:stocklevel-transfer",
        "inventory:safetystock-edit",
        "orders:order-create",
        "suppliers:purchaseorder-create",
    ],
)
def test_form_pages_refuse_put_patch_and_delete(
    manager_client, staff_user, warehouse, product, method, page
):
    level = give_stock(product, warehouse, 5, by=staff_user)
    WarehouseFactory(code="EAST")
    url = reverse(page, args=[level.pk]) if page.startswith("inventory:") else reverse(page)
    before = stock_snapshot(), StockMovement.objects.count(), SalesOrder.objects.count()
    body = "mode=remove&quantity=2&reason=Lost&to_warehouse=1"

    response = getattr(manager_client, method)(
        url, body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) <= {"GET", "POST", "HEAD", "OPTIONS"}
    assert (stock_snapshot(), StockMovement.objects.count(), SalesOrder.objects.count()) == before
    assert manager_client.get(url).status_code == 200
