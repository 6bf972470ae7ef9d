"""The inventory admin: every page loads, the ledger is read-only, stock changes only through the
adjust action (and so through inventory.services.stock_adjust), and changelists do not N+1."""

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import (
    MovementKind,
    Product,
    SafetyStockChange,
    StockLevel,
    StockMovement,
    Warehouse,
)
from inventory.services import safety_stock_set, stock_adjust
from orders.services import order_place
from suppliers.models import SupplierProduct
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    StockLevelFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import admin_url, count_queries, post_data_from

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------


def stocked_level(quantity=10, *, by, **kwargs):
    level = StockLevelFactory(**kwargs)
    stock_adjust(level_id=level.pk, delta=quantity, reason="Opening stock", by=by)
    level.refresh_from_db()
    return level


def allocate(level, quantity, *, by):
    """Give a level an allocation the way the app does: a customer order placed against it."""
    order_place(
        customer_id=CustomerFactory().pk,
        warehouse_id=level.warehouse_id,
        lines=[(level.product_id, quantity)],
        by=by,
    )
    level.refresh_from_db()
    assert level.allocated == quantity


def messages_with_levels(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def rows(admin_user):
    """A few rows of every inventory model, made through factories and services."""
    levels = [stocked_level(5 + i, by=admin_user) for i in range(3)]
    safety_stock_set(level_ids=[levels[0].pk], value=4, by=admin_user, reason="Busy season")
    SupplierProductFactory(product=levels[0].product)
    return levels


# --- pages load ----------------------------------------------------------------------------------


def test_admin_site_has_backstock_header(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "Backstock administration" in response.text


@pytest.mark.parametrize(
    "model", [Warehouse, Product, StockLevel, StockMovement, SafetyStockChange]
)
def test_changelist_lists_rows(admin_client, rows, model):
    response = admin_client.get(admin_url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count == model.objects.count() > 0


@pytest.mark.parametrize(
    "model", [Warehouse, Product, StockLevel, StockMovement, SafetyStockChange]
)
def test_change_page_loads(admin_client, rows, model):
    obj = model.objects.first()

    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    assert response.context["original"] == obj


@pytest.mark.parametrize("model", [Warehouse, Product, StockLevel])
def test_add_page_loads(admin_client, model):
    response = admin_client.get(admin_url(model, "add"))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("model", "search", "expected"),
    [
        (Product, "SKU-FIND", 1),
        (StockLevel, "SKU-FIND", 1),
        (StockMovement, "SKU-FIND", 1),
        (Warehouse, "nothing-like-this", 0),
    ],
)
def test_search(admin_client, admin_user, rows, model, search, expected):
    stocked_level(3, product=ProductFactory(sku="SKU-FIND-1"), by=admin_user)

    response = admin_client.get(admin_url(model, "changelist"), {"q": search})

    assert response.context["cl"].result_count == expected


def test_movement_search_finds_document_number_in_reference(admin_client, admin_user):
    level = stocked_level(10, by=admin_user)
    StockMovement.objects.filter(level=level).update(reference="PO-000045 SH-000007")

    found = admin_client.get(admin_url(StockMovement, "changelist"), {"q": "po-45"})
    missed = admin_client.get(admin_url(StockMovement, "changelist"), {"q": "PO-46"})

    assert found.context["cl"].result_count == 1
    assert missed.context["cl"].result_count == 0


def test_stock_filter(admin_client, admin_user):
    empty = StockLevelFactory()
    promised = stocked_level(10, by=admin_user)
    allocate(promised, 4, by=admin_user)
    short = stocked_level(3, by=admin_user)
    safety_stock_set(level_ids=[short.pk], value=5, by=admin_user)
    url = admin_url(StockLevel, "changelist")

    def listed(value):
        response = admin_client.get(url, {"stock": value})
        return set(response.context["cl"].result_list)

    assert listed("empty") == {empty}
    assert listed("allocated") == {promised}
    assert listed("below_safety") == {short}


# --- no N+1 on changelists -----------------------------------------------------------------------


@pytest.mark.parametrize("model", [StockLevel, StockMovement, SafetyStockChange])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, admin_user, model, django_assert_num_queries
):
    def add_rows(n):
        for _ in range(n):
            level = stocked_level(7, by=admin_user)
            safety_stock_set(level_ids=[level.pk], value=2, by=admin_user)

    url = admin_url(model, "changelist")
    add_rows(3)
    admin_client.get(url)  # warm caches that belong to the session, not to the page
    with_three, page = count_queries(lambda: admin_client.get(url))
    assert page.status_code == 200
    add_rows(17)

    # Session, user, the two counts, the page of rows with its joins, and the filters' choices:
    # the same statements for 20 rows as for 3.
    with django_assert_num_queries(with_three):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 20


# --- the ledger is read-only ---------------------------------------------------------------------


@pytest.mark.parametrize("model", [StockMovement, SafetyStockChange])
def test_ledger_rows_cannot_be_added_changed_or_deleted(admin_client, rf, admin_user, rows, model):
    obj = model.objects.first()
    before = model.objects.values().get(pk=obj.pk)
    model_admin = admin.site._registry[model]
    request = rf.get("/")
    request.user = admin_user

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {"reason": "x"}).status_code == 403
    assert (
        admin_client.post(
            admin_url(model, "change", obj.pk), {"reason": "rewritten", "quantity": 99}
        ).status_code
        == 403
    )
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.values().get(pk=obj.pk) == before


def test_ledger_changelist_offers_no_delete_action(admin_client, rows):
    response = admin_client.get(admin_url(StockMovement, "changelist"))

    assert "delete_selected" not in response.text


def test_stock_level_cannot_be_deleted(admin_client, rows):
    level = rows[0]

    response = admin_client.post(admin_url(StockLevel, "delete", level.pk), {"post": "yes"})

    assert response.status_code == 403
    assert StockLevel.objects.filter(pk=level.pk).exists()


# --- on_hand and allocated are not editable ------------------------------------------------------


def test_on_hand_and_allocated_are_not_editable(admin_client, admin_user):
    level = stocked_level(10, by=admin_user)
    allocate(level, 3, by=admin_user)

    response = admin_client.post(
        admin_url(StockLevel, "change", level.pk),
        {
            "on_hand": 999,
            "allocated": 0,
            "safety_stock": 6,
            "reorder_point": "",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    level.refresh_from_db()
    assert (level.on_hand, level.allocated, level.safety_stock) == (10, 3, 6)
    assert level.movements.count() == 1  # only the opening stock


def test_editing_safety_stock_records_the_change(admin_client, admin_user):
    level = stocked_level(10, by=admin_user)

    admin_client.post(
        admin_url(StockLevel, "change", level.pk),
        {"safety_stock": 8, "reorder_point": "12", "_save": "Save"},
    )

    change = SafetyStockChange.objects.get(level=level)
    assert (change.old_value, change.new_value, change.changed_by) == (0, 8, admin_user)
    level.refresh_from_db()
    assert level.reorder_point == 12


def test_negative_safety_stock_is_refused_on_the_form(admin_client, admin_user):
    level = stocked_level(10, by=admin_user)

    response = admin_client.post(
        admin_url(StockLevel, "change", level.pk),
        {"safety_stock": -1, "reorder_point": "", "_save": "Save"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["safety_stock"]
    level.refresh_from_db()
    assert level.safety_stock == 0


def test_saving_a_level_writes_only_the_edited_columns(rf, admin_user):
    level = stocked_level(10, by=admin_user)
    loaded = StockLevel.objects.get(pk=level.pk)  # as the change page read it
    stock_adjust(level_id=level.pk, delta=5, reason="Meanwhile", by=admin_user)
    loaded.reorder_point = 30
    request = rf.post("/")
    request.user = admin_user
    form = SimpleNamespace(changed_data=["reorder_point"])

    admin.site._registry[StockLevel].save_model(request, loaded, form, change=True)

    level.refresh_from_db()
    assert (level.on_hand, level.reorder_point) == (15, 30)


def test_new_stock_level_starts_empty_whatever_is_posted(admin_client):
    product, warehouse = ProductFactory(), WarehouseFactory()

    response = admin_client.post(
        admin_url(StockLevel, "add"),
        {
            "product": product.pk,
            "warehouse": warehouse.pk,
            "on_hand": 50,
            "allocated": 5,
            "safety_stock": 2,
            "reorder_point": "",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    level = StockLevel.objects.get(product=product, warehouse=warehouse)
    assert (level.on_hand, level.allocated, level.safety_stock) == (0, 0, 2)


def test_stock_level_change_page_shows_available(admin_client, admin_user):
    level = stocked_level(10, by=admin_user)
    allocate(level, 4, by=admin_user)

    response = admin_client.get(admin_url(StockLevel, "changelist"))

    row = response.context["cl"].result_list.get(pk=level.pk)
    assert row.available == 6
    assert "field-available" in response.text


# --- the adjust action ---------------------------------------------------------------------------


def adjust(client, levels, **fields):
    """Submit the adjust form for levels, as its intermediate page does."""
    return client.post(
        admin_url(StockLevel, "changelist"),
        {
            "action": "adjust_stock",
            "_selected_action": [level.pk for level in levels],
            "apply": "yes",
            **fields,
        },
    )


def test_adjust_action_shows_a_form_for_the_chosen_levels(admin_client, admin_user):
    chosen, other = stocked_level(4, by=admin_user), stocked_level(9, by=admin_user)

    response = admin_client.post(
        admin_url(StockLevel, "changelist"),
        {"action": "adjust_stock", "_selected_action": [chosen.pk], "index": 0},
    )

    assert response.status_code == 200
    assert response.templates[0].name == "admin/inventory/stocklevel/adjust_stock.html"
    assert response.context["levels"] == [chosen]
    assert str(chosen.product) in response.text
    assert str(other.product) not in response.text


def test_adjust_action_writes_a_movement_through_the_service(admin_client, admin_user):
    first, second = stocked_level(4, by=admin_user), stocked_level(9, by=admin_user)

    response = adjust(admin_client, [first, second], delta="5", reason="Found a pallet")

    assert response.status_code == 302
    for level, expected in ((first, 9), (second, 14)):
        level.refresh_from_db()
        assert level.on_hand == expected
        movement = level.movements.first()
        assert (movement.kind, movement.quantity, movement.balance_after) == (
            MovementKind.ADJUSTMENT,
            5,
            expected,
        )
        assert (movement.reason, movement.created_by) == ("Found a pallet", admin_user)
    assert messages_with_levels(response) == [
        ("success", f"Adjusted 2 stock levels by +5: {first} now 9; {second} now 14.")
    ]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"delta": "0", "reason": "Typo"}, "The change cannot be zero."),
        ({"delta": "ten", "reason": "Typo"}, "Enter a whole number using the digits 0–9"),
        ({"delta": "2.5", "reason": "Typo"}, "Enter a whole number using the digits 0–9"),
        ({"delta": "１２", "reason": "Typo"}, "Enter a whole number using the digits 0–9"),
        ({"delta": "+12", "reason": "Typo"}, "Enter a whole number using the digits 0–9"),
        ({"delta": "1000000001", "reason": "Typo"}, "less than or equal to 1000000000"),
        ({"delta": "-1000000001", "reason": "Typo"}, "greater than or equal to -1000000000"),
        ({"delta": "", "reason": "Typo"}, "This field is required."),
        ({"delta": "3", "reason": "   "}, "This field is required."),
        ({"delta": "3", "reason": "x" * 256}, "at most 255 characters"),
    ],
)
def test_adjust_action_rejects_bad_input_and_changes_nothing(
    admin_client, admin_user, fields, error
):
    level = stocked_level(4, by=admin_user)

    response = adjust(admin_client, [level], **fields)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert error in response.text
    assert "Please correct the errors below." in response.text
    level.refresh_from_db()
    assert level.on_hand == 4
    assert level.movements.count() == 1


def test_adjust_below_allocated_is_an_error_and_other_levels_still_change(admin_client, admin_user):
    short = stocked_level(10, by=admin_user)
    allocate(short, 8, by=admin_user)
    fine = stocked_level(10, by=admin_user)

    response = adjust(admin_client, [short, fine], delta="-5", reason="Damaged")

    assert response.status_code == 302
    short.refresh_from_db()
    fine.refresh_from_db()
    assert (short.on_hand, short.movements.count()) == (10, 1)
    assert (fine.on_hand, fine.movements.count()) == (5, 2)
    levels, texts = zip(*messages_with_levels(response), strict=True)
    assert levels == ("error", "success")
    assert texts[0].startswith(f"{short}: Only 2 of {short.product.sku}")
    assert "allocated to orders" in texts[0]


def test_adjust_action_needs_the_adjust_permission(client, admin_user):
    level = stocked_level(4, by=admin_user)
    clerk = UserFactory(is_staff=True)
    clerk.user_permissions.add(
        Permission.objects.get(codename="view_stocklevel"),
        Permission.objects.get(codename="change_stocklevel"),
    )
    client.force_login(clerk)

    listing = client.get(admin_url(StockLevel, "changelist"))
    response = adjust(client, [level], delta="5", reason="Found some")

    assert "adjust_stock" not in listing.text
    assert response.status_code < 400
    level.refresh_from_db()
    assert (level.on_hand, level.movements.count()) == (4, 1)


# --- supply terms on the product page ------------------------------------------------------------


def test_product_page_edits_supply_terms(admin_client):
    term = SupplierProductFactory(pack_size=1)
    page = admin_client.get(admin_url(Product, "change", term.product.pk))
    data = post_data_from(page)
    data["supply_terms-0-pack_size"] = 12

    response = admin_client.post(admin_url(Product, "change", term.product.pk), data)

    assert response.status_code == 302
    term.refresh_from_db()
    assert term.pack_size == 12


def test_product_page_refuses_two_preferred_suppliers(admin_client):
    product = ProductFactory()
    SupplierProductFactory(product=product, supplier=SupplierFactory())
    SupplierProductFactory(product=product, supplier=SupplierFactory())
    page = admin_client.get(admin_url(Product, "change", product.pk))
    data = post_data_from(page)
    data["supply_terms-0-is_preferred"] = "on"
    data["supply_terms-1-is_preferred"] = "on"

    response = admin_client.post(admin_url(Product, "change", product.pk), data)

    assert response.status_code == 200
    assert "A product can have only one preferred supplier." in response.text
    assert not SupplierProduct.objects.filter(is_preferred=True).exists()
