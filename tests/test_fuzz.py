"""Bad input on every POST endpoint: never a server error, never a change unless the input was
accepted, and any text shown back is escaped (DESIGN.md rule 8).

The endpoints come from the URL resolver: a new form page is either fuzzed here or fails
`test_every_post_endpoint_is_fuzzed` until it gets an entry in SPECS. Each entry names the forms
its view parses, and the posted field names are read from those forms (formset management fields
and per-line fields included). Values are drawn from plausible ones (real ids, SKUs, the release
plan's fingerprint) and hostile ones (empty, huge, negative, fractional, exponents, Unicode
controls, NUL, markup, SQL-like text, lists where one value is expected, missing and extra fields).

Every example runs inside a savepoint that is rolled back afterwards, so each one starts from the
same world and an accepted submission in one cannot change what the next one sees. The database
is fingerprinted before and after the request: a change is allowed only when the view answered
with its success redirect (checked explicitly per endpoint), never otherwise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
)
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inventory.admin import AdjustStockForm as AdminAdjustStockForm
from inventory.admin import StockLevelAdminForm
from inventory.forms import BulkSafetyStockForm, IdListField, SetSafetyStockForm, TransferStockForm
from inventory.models import Product, SafetyStockChange, StockLevel, StockMovement
from orders.forms import (
    CancelForm,
    ConfirmImportForm,
    CreateCustomerForm,
    OrderLineFormSet,
    PlaceOrderForm,
    ShipOrderForm,
    UploadOrdersForm,
)
from orders.forms.release import ConfirmReleaseForm, ReleaseLinesForm
from orders.models import Allocation, Customer, OrderLine, Priority, Release, SalesOrder
from orders.services import release_propose
from planning.forms import ReorderSelectionForm
from suppliers.forms import (
    CancelPurchaseOrderForm,
    CreatePurchaseOrderForm,
    ProductImportConfirmForm,
    ProductImportUploadForm,
    PurchaseOrderLineFormSet,
    ReceiveShipmentForm,
)
from suppliers.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
    SupplierProduct,
)
from suppliers.services import purchase_order_create, shipment_receive
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, level_for, place, sent_po

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # UserFactory's
NEW_PASSWORD = "Fresh-Ledger-Password-42"

# Fewer examples on PostgreSQL, where each costs more: CI's SQLite pass runs the full count, and
# derandomised runs draw the same first examples on both databases.
EXAMPLES = int(
    os.environ.get("BACKSTOCK_FUZZ_EXAMPLES") or (10 if connection.vendor == "postgresql" else 20)
)
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"},
    suppress_health_check=[
        # The world is built once per endpoint; each example rolls back to it (see module doc).
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- hostile values --------------------------------------------------------------------------

MARKUP = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
# What must never appear unescaped in a page, whatever was posted or stored.
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")

HOSTILE_TEXT = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "-999999999999",
    "1.5",
    "0.5",
    "2.0",
    "1e3",
    "1E9",
    "1e400",
    "-1e-5",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "0x10",
    "1_000",
    "+5",
    " 5 ",
    "١٢",  # Arabic-Indic digits
    "１２",  # full-width digits
    str(10**9),
    str(10**9 + 1),
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 400,
    "x" * 5000,
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",  # right-to-left override
    "zero\u200bwidth\ufeff",
    "📦🚚✅",
    "Ω≈ç√∫",
    "\r\n\t",
    *MARKUP,
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "'; DROP TABLE inventory_product; --",
    "' OR '1'='1",
    "1 OR 1=1",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "{% debug %}",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    '[[1, "x"]]',
    "2024-02-30",
    "0001-01-01",
    "9999-12-31",
    "31/12/2030",
    "//evil.example.com/",
    "https://evil.example.com/",
]

NASTY = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
)
EXTRA_KEYS = st.one_of(
    st.sampled_from(["unexpected", "id", "pk", "is_superuser", "status", "quantity[]", "next"]),
    st.text(alphabet=string.ascii_letters + "_-[]", min_size=1, max_size=12),
)


class Upload(bytes):
    """File content to post as an uploaded file."""


def tainted(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """A plausible value with markup appended, so that any echo of it is put to the test."""
    return st.tuples(strategy, st.sampled_from(MARKUP)).map(
        lambda pair: pair[0] + pair[1] if isinstance(pair[0], str) else pair[0]
    )


OMIT = object()
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/stock/?page=2"}


def hostile(plausible: st.SearchStrategy) -> st.SearchStrategy:
    scalar = st.one_of(plausible, NASTY, tainted(plausible))
    return st.one_of(
        st.just(OMIT),
        scalar,
        st.lists(scalar, min_size=2, max_size=3),  # several values where one is expected
    )


def plausible_for(form_field: forms.Field) -> st.SearchStrategy:
    """A value this field could accept, read from the field itself."""
    if isinstance(form_field, forms.ModelMultipleChoiceField):
        pks = [str(pk) for pk in form_field.queryset.values_list("pk", flat=True)[:20]] or ["1"]
        return st.lists(st.sampled_from(pks), min_size=1, max_size=3, unique=True)
    if isinstance(form_field, forms.ModelChoiceField):
        pks = [str(pk) for pk in form_field.queryset.values_list("pk", flat=True)[:20]] or ["1"]
        return st.sampled_from(pks)
    if isinstance(form_field, forms.ChoiceField):
        return st.sampled_from([str(key) for key, _ in form_field.choices if key != ""])
    if isinstance(form_field, forms.BooleanField):
        return st.sampled_from(["on", ""])
    if isinstance(form_field, forms.DecimalField):
        return st.sampled_from(["0", "2.50", "19.99", "3"])
    if isinstance(form_field, forms.IntegerField):
        low = form_field.min_value if form_field.min_value is not None else 0
        return st.integers(min_value=max(low, 0), max_value=max(low, 0) + 25).map(str)
    if isinstance(form_field, forms.DateField):
        today = timezone.localdate()
        return st.integers(0, 60).map(lambda days: (today + dt.timedelta(days=days)).isoformat())
    if isinstance(form_field, forms.EmailField):
        return st.just("buyer@example.com")
    if isinstance(form_field, forms.FileField):
        return st.binary(max_size=200).map(Upload)
    if isinstance(form_field, IdListField):
        return st.just(["1"])
    return st.one_of(
        st.sampled_from(["Cycle count aisle 4", "Customer gave up", "DN-1", "Acme"]),
        st.text(alphabet=string.ascii_letters + " -", min_size=1, max_size=30),
    )


def form_fields(form: forms.Form | forms.BaseFormSet) -> dict[str, forms.Field]:
    """Every input name a bound form or formset reads, with its field."""
    if isinstance(form, forms.BaseFormSet):
        fields = form_fields(form.management_form)
        for line_form in form.forms:
            fields.update(form_fields(line_form))
        return fields
    return {form.add_prefix(name): form_field for name, form_field in form.fields.items()}


# --- the world the endpoints act on ------------------------------------------------------------


@pytest.fixture
def world(db, settings, tmp_path):
    """One of everything an endpoint needs: stock with a queue, open orders, a partly received
    purchase order with its shipment, a draft purchase order, a release to review."""
    settings.BACKSTOCK_IMPORT_DIR = str(tmp_path / "imports")
    user = UserFactory(username="fuzz-everything", is_staff=True)
    user.user_permissions.set(Permission.objects.all())
    main, second = WarehouseFactory(code="FZA"), WarehouseFactory(code="FZB")
    p1, p2, p3, p4 = ProductFactory.create_batch(4)
    supplier, other_supplier = SupplierFactory(), SupplierFactory()
    for product in (p1, p2, p3):
        SupplierProductFactory(supplier=supplier, product=product, is_preferred=True)
    # Bought from a supplier with no draft yet, so drafting its suggestion creates a new order.
    SupplierProductFactory(supplier=other_supplier, product=p4, is_preferred=True)
    give_stock(p1, main, 10, by=user)
    give_stock(p3, main, 5, by=user)
    level_for(p2, main)
    level_for(p1, second)
    customer = CustomerFactory(name="Fuzz Foods")
    order = place(customer, main, [(p1, 4), (p2, 5)], by=user)  # p1 allocated, p2 waits
    waiting = place(customer, main, [(p1, 20)], by=user, priority=Priority.HIGH)  # 6 + 14 wait
    place(customer, main, [(p4, 30)], by=user)  # nothing on order: a reorder suggestion
    po = sent_po(supplier, main, [(p2, 20), (p1, 10)], by=user)
    po_lines = {line.product_id: line for line in po.lines.all()}
    shipment = shipment_receive(
        purchase_order_id=po.pk,
        quantities={po_lines[p2.pk].pk: 8, po_lines[p1.pk].pk: 0},
        idempotency_key=uuid.uuid4().hex,
        by=user,
    ).shipment
    draft = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=main.pk,
        expected_date=timezone.localdate() + dt.timedelta(days=5),
        lines=[(p3.pk, 6, "1.00")],
        by=user,
    )
    plan = release_propose(
        warehouse_id=main.pk, product_ids=[p1.pk, p2.pk], shipment_id=shipment.pk
    )
    assert any(line.quantity for product in plan.products for line in product.lines)
    return SimpleNamespace(
        user=user,
        main=main,
        second=second,
        products=[p1, p2, p3],
        levels=list(StockLevel.objects.order_by("pk")),
        free_level=StockLevel.objects.get(product=p3, warehouse=main),  # 5 free, nobody waits
        reorder_level=StockLevel.objects.get(product=p4, warehouse=main),
        customer=customer,
        order=order,
        waiting_line=OrderLine.objects.get(order=waiting),
        po=po,
        draft=draft,
        shipment=shipment,
        plan=plan,
        token="5eed" * 8,  # a well-formed once-token / idempotency key
    )


# --- what each endpoint reads ----------------------------------------------------------------


def redirected(response) -> bool:
    """A redirect, or its htmx form: the page told to go elsewhere or to reload."""
    return response.status_code == 302 or bool(
        response.headers.get("HX-Redirect") or response.headers.get("HX-Refresh")
    )


def success_message_redirect(response, client) -> bool:
    """The app's success: a redirect (POST/redirect/GET) carrying a success message."""
    return redirected(response) and any(
        message.level == messages.SUCCESS for message in get_messages(response.wsgi_request)
    )


def redirect_to(name: str) -> Callable:
    def check(response, client) -> bool:
        return response.status_code == 302 and urlsplit(response["Location"]).path == reverse(name)

    return check


def any_redirect(response, client) -> bool:
    return redirected(response)


World = SimpleNamespace


@dataclass(frozen=True)
class Spec:
    """How to fuzz one endpoint: its address (which may prepare the session, e.g. upload a file
    first), the forms its view parses, plausible values for fields the form cannot describe, the
    keys the view reads straight from request.POST, what its success looks like, and one
    submission it accepts."""

    url: Callable[[World, Client], str]
    forms: Callable[[World], list] = lambda world: []
    hints: Mapping[str, Callable[[World], st.SearchStrategy]] = field(default_factory=dict)
    extras: Callable[[World], dict[str, st.SearchStrategy]] = lambda world: {}
    success: Callable = success_message_redirect
    # A submission the view accepts; examples start from it and break a field or two.
    valid: Callable[[World], dict] = lambda world: {}
    # Sign-in pages may answer a throttled or refused attempt with 403/429; the others must let
    # this user (who holds every permission) reach the form.
    may_refuse: bool = False
    # The view answers htmx requests differently; examples are then sent with and without htmx.
    htmx: bool = False


def _at(name: str, *args) -> Callable[[World, Client], str]:
    return lambda world, client: reverse(name, args=[arg(world) for arg in args])


def _level(world):
    return world.levels[0].pk


def _free_level(world):
    return world.free_level.pk


def _management(total: int) -> dict:
    return {
        "lines-TOTAL_FORMS": str(total),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }


def _release_valid(world) -> dict:
    plan = world.plan
    data = {
        "warehouse": str(plan.warehouse_id),
        "product": [str(product.product_id) for product in plan.products],
        "shipment": str(plan.shipment_id),
        "fingerprint": plan.fingerprint,
        "moved_up": "",
        "note": "Fuzz release",
    }
    for product in plan.products:
        for line in product.lines:
            data[f"qty_{line.line_id}"] = str(line.quantity)
    return data


def _receive_valid(world) -> dict:
    data = {"reference": "DN-1", "idempotency_key": world.token}
    for line in world.po.lines.all():
        data[f"line_{line.pk}"] = "1" if line.outstanding else "0"
    return data


def _skus(world):
    return st.sampled_from([product.sku for product in world.products] + ["no-such-sku"])


def _customers(world):
    # Typed as on the form: a whole name in any case, a number, a part of a name, an unknown one.
    customer = world.customer
    return st.sampled_from(
        [
            customer.name,
            customer.name.upper(),
            str(customer.pk),
            f"#{customer.pk}",
            "Fuzz",
            "Nobody",
        ]
    )


def _suppliers(world):
    supplier = world.po.supplier
    return st.sampled_from(
        [supplier.name, supplier.name.lower(), str(supplier.pk), f"#{supplier.pk}", "Supp", "#0"]
    )


def _level_ids(world):
    return st.lists(st.sampled_from([str(level.pk) for level in world.levels]), min_size=1)


def _hex_token(world):
    return st.uuids().map(lambda value: value.hex)


def _next(world):
    return st.sampled_from(["/stock/", "/orders/", "//evil.example.com/", "https://evil.example/"])


def _product_import_url(world, client) -> str:
    rows = [
        "sku,name,unit,supplier,supplier_sku,unit_cost,lead_time_days,min_order_qty,pack_size,"
        "preferred",
        "FUZZ-NEW-1,Fuzzed product,each,,,,,,,",
        ",Row without a SKU,each,,,,,,,",
    ]
    upload = SimpleUploadedFile("products.csv", "\n".join(rows).encode(), "text/csv")
    response = client.post(reverse("suppliers:product-import"), {"file": upload})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def _order_csv(world) -> bytes:
    p1, p2, _ = world.products
    return (
        "order_ref,customer,warehouse,priority,sku,quantity\n"
        f"FZ-1,{world.customer.name},{world.main.code},normal,{p1.sku},2\n"
        f"FZ-2,{world.customer.name},{world.main.code},normal,{p2.sku},-3\n"
    ).encode()


def _order_import_url(world, client) -> str:
    upload = SimpleUploadedFile("orders.csv", _order_csv(world), "text/csv")
    response = client.post(reverse("orders:order-import"), {"file": upload})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def _release_forms(world) -> list:
    """The hidden state and note of the review, and one quantity per waiting line of the plan."""
    return [ConfirmReleaseForm(), ReleaseLinesForm(plan=world.plan)]


def _release_line_ids(world):
    ids = [str(line.line_id) for product in world.plan.products for line in product.lines]
    return st.sampled_from([*ids, "0", "abc"])


def _release_extras(world) -> dict:
    """The buttons and reasons the review reads straight from request.POST."""
    extras = {"move_up": _release_line_ids(world), "move_back": _release_line_ids(world)}
    for product in world.plan.products:
        for line in product.lines:
            extras[f"reason_{line.line_id}"] = st.sampled_from(["Key account", "", "x" * 300])
    return extras


SPECS: dict[str, Spec] = {
    # --- sign-in ---------------------------------------------------------------------------
    "login": Spec(
        url=_at("login"),
        forms=lambda world: [AuthenticationForm()],
        hints={
            "username": lambda world: st.sampled_from([world.user.username, "nobody"]),
            "password": lambda world: st.sampled_from([PASSWORD, "wrong-password"]),
        },
        extras=lambda world: {"next": _next(world)},
        success=any_redirect,
        valid=lambda world: {"username": world.user.username, "password": PASSWORD},
        may_refuse=True,
    ),
    "logout": Spec(
        url=_at("logout"), extras=lambda world: {"next": _next(world)}, success=any_redirect
    ),
    "password_change": Spec(
        url=_at("password_change"),
        forms=lambda world: [PasswordChangeForm(world.user)],
        hints={
            "old_password": lambda world: st.sampled_from([PASSWORD, "wrong-password"]),
            "new_password1": lambda world: st.just(NEW_PASSWORD),
            "new_password2": lambda world: st.sampled_from([NEW_PASSWORD, "different"]),
        },
        success=redirect_to("password_change_done"),
        valid=lambda world: {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        may_refuse=True,
    ),
    # --- inventory ---------------------------------------------------------------------------
    "inventory:safetystock-edit": Spec(
        url=_at("inventory:safetystock-edit", _level),
        htmx=True,
        forms=lambda world: [SetSafetyStockForm()],
        extras=lambda world: {"next": _next(world)},
        valid=lambda world: {"value": "7", "reason": "Fuzz"},
    ),
    "inventory:safetystock-bulk": Spec(
        url=_at("inventory:safetystock-bulk"),
        forms=lambda world: [BulkSafetyStockForm()],
        hints={"levels": _level_ids},
        extras=lambda world: {"next": _next(world)},
        valid=lambda world: {"levels": [str(level.pk) for level in world.levels[:2]], "value": "3"},
    ),
    "inventory:stocklevel-adjust": Spec(
        url=_at("inventory:stocklevel-adjust", _free_level),
        # The view's own form class, read from the view.
        forms=lambda world: [
            resolve(reverse("inventory:stocklevel-adjust", args=[1])).func.view_class.form_class()
        ],
        valid=lambda world: {"mode": "add", "quantity": "2", "reason": "Found on the shelf"},
    ),
    "inventory:stocklevel-transfer": Spec(
        url=_at("inventory:stocklevel-transfer", _free_level),
        forms=lambda world: [TransferStockForm(from_warehouse_id=world.main.pk)],
        valid=lambda world: {
            "to_warehouse": str(world.second.pk),
            "quantity": "2",
            "reason": "Rebalance",
        },
    ),
    "suppliers:product-import": Spec(
        url=_at("suppliers:product-import"),
        htmx=True,
        forms=lambda world: [ProductImportUploadForm()],
        hints={
            "file": lambda world: st.just(Upload(b"sku,name\nFUZZ-UP-1,Uploaded product\n")),
        },
        success=any_redirect,  # to the preview; nothing is written before confirming
        valid=lambda world: {"file": Upload(b"sku,name\nFUZZ-UP-1,Uploaded product\n")},
    ),
    "suppliers:product-import-preview": Spec(
        url=_product_import_url,
        forms=lambda world: [ProductImportConfirmForm()],
        valid=lambda world: {"only_valid": "on"},
    ),
    "planning:reorder-draft-pos": Spec(
        url=_at("planning:reorder-draft-pos"),
        forms=lambda world: [ReorderSelectionForm()],
        hints={"levels": _level_ids},
        extras=lambda world: {"next": st.sampled_from(["/reorder/?urgent=on", "//evil.example/"])},
        valid=lambda world: {"levels": [str(world.reorder_level.pk)]},
    ),
    "planning:reorder-apply-safety-stock": Spec(
        url=_at("planning:reorder-apply-safety-stock"),
        forms=lambda world: [ReorderSelectionForm()],
        hints={"levels": _level_ids},
        extras=lambda world: {"next": st.sampled_from(["/reorder/", "https://evil.example/"])},
        valid=lambda world: {"levels": [str(world.reorder_level.pk)]},
    ),
    # --- orders ------------------------------------------------------------------------------
    "orders:order-create": Spec(
        url=_at("orders:order-create"),
        forms=lambda world: [PlaceOrderForm(), OrderLineFormSet(prefix="lines")],
        hints={
            "lines-TOTAL_FORMS": lambda world: st.sampled_from(["3", "1"]),
            "lines-INITIAL_FORMS": lambda world: st.just("0"),
            "sku": _skus,
            "customer": _customers,
        },
        extras=lambda world: {"once_token": _hex_token(world)},
        valid=lambda world: {
            "customer": world.customer.name,
            "warehouse": str(world.main.pk),
            "priority": str(Priority.NORMAL),
            **_management(3),
            "lines-0-sku": world.products[2].sku,
            "lines-0-quantity": "2",
            "once_token": world.token,
        },
    ),
    "orders:order-import": Spec(
        url=_at("orders:order-import"),
        htmx=True,
        forms=lambda world: [UploadOrdersForm()],
        hints={"file": lambda world: st.just(Upload(_order_csv(world)))},
        success=any_redirect,  # to the preview; nothing is placed before confirming
        valid=lambda world: {"file": Upload(_order_csv(world))},
    ),
    "orders:order-import-preview": Spec(
        url=_order_import_url,
        forms=lambda world: [ConfirmImportForm()],
        valid=lambda world: {"only_valid": "on"},
    ),
    "orders:order-ship": Spec(
        url=_at("orders:order-ship", lambda world: world.order.pk),
        forms=lambda world: [ShipOrderForm(lines=list(world.order.lines.all()))],
        extras=lambda world: {"ship_all": st.just("1")},
        valid=lambda world: {
            f"line_{line.pk}": "1" for line in world.order.lines.filter(quantity_allocated__gt=0)
        },
    ),
    "orders:order-cancel": Spec(
        url=_at("orders:order-cancel", lambda world: world.order.pk),
        forms=lambda world: [CancelForm()],
        valid=lambda world: {"reason": "Customer gave up"},
    ),
    "orders:orderline-cancel": Spec(
        url=_at("orders:orderline-cancel", lambda world: world.waiting_line.pk),
        forms=lambda world: [CancelForm()],
        extras=lambda world: {"next": _next(world)},
        valid=lambda world: {"reason": "Customer gave up"},
    ),
    "orders:customer-create": Spec(
        url=_at("orders:customer-create"),
        forms=lambda world: [CreateCustomerForm()],
        valid=lambda world: {"name": "Northwind Traders", "email": "buyer@northwind.example"},
    ),
    "orders:release-review": Spec(
        url=_at("orders:release-review"),
        forms=_release_forms,
        hints={
            "warehouse": lambda world: st.just(str(world.main.pk)),
            "product": lambda world: st.just([str(p.pk) for p in world.products[:2]]),
            "shipment": lambda world: st.just(str(world.shipment.pk)),
            "fingerprint": lambda world: st.sampled_from([world.plan.fingerprint, "0" * 64]),
            "moved_up": lambda world: st.sampled_from(["", "[]", '[[1, "x"]]']),
        },
        extras=_release_extras,
        valid=_release_valid,
    ),
    # --- suppliers ---------------------------------------------------------------------------
    "suppliers:receive": Spec(
        url=_at("suppliers:receive", lambda world: world.po.pk),
        forms=lambda world: [ReceiveShipmentForm(lines=list(world.po.lines.all()))],
        hints={"idempotency_key": _hex_token},
        valid=_receive_valid,
    ),
    "suppliers:purchaseorder-create": Spec(
        url=_at("suppliers:purchaseorder-create"),
        forms=lambda world: [CreatePurchaseOrderForm(), PurchaseOrderLineFormSet(prefix="lines")],
        hints={
            "lines-TOTAL_FORMS": lambda world: st.sampled_from(["5", "1"]),
            "lines-INITIAL_FORMS": lambda world: st.just("0"),
            "sku": _skus,
            "supplier": _suppliers,
            "once_token": _hex_token,
        },
        valid=lambda world: {
            "supplier": world.po.supplier.name,
            "warehouse": str(world.second.pk),
            "once_token": world.token,
            **_management(5),
            "lines-0-sku": world.products[2].sku,
            "lines-0-quantity": "4",
        },
    ),
    "suppliers:purchaseorder-send": Spec(
        url=_at("suppliers:purchaseorder-send", lambda world: world.draft.pk)
    ),
    "suppliers:purchaseorder-cancel": Spec(
        url=_at("suppliers:purchaseorder-cancel", lambda world: world.po.pk),
        forms=lambda world: [CancelPurchaseOrderForm()],
        valid=lambda world: {"reason": "Supplier discontinued the product"},
    ),
}

# Two Django admin forms that change stock data: a level's change form and the adjust action.
ADMIN_SPECS: dict[str, Spec] = {
    "admin:inventory_stocklevel_change": Spec(
        url=_at("admin:inventory_stocklevel_change", _level),
        forms=lambda world: [StockLevelAdminForm(instance=world.levels[0])],
        # Read-only on an existing level, so not part of the posted form.
        hints={"product": lambda world: None, "warehouse": lambda world: None},
        extras=lambda world: {"_save": st.just("Save")},
        valid=lambda world: {"safety_stock": "4", "reorder_point": "", "_save": "Save"},
    ),
    "admin:inventory_stocklevel_changelist": Spec(
        url=_at("admin:inventory_stocklevel_changelist"),
        forms=lambda world: [AdminAdjustStockForm()],
        extras=lambda world: {
            "action": st.just("adjust_stock"),
            "_selected_action": _level_ids(world),
            "apply": st.just("1"),
            "index": st.just("0"),
        },
        valid=lambda world: {
            "action": "adjust_stock",
            "_selected_action": [str(world.free_level.pk)],
            "apply": "1",
            "index": "0",
            "delta": "3",
            "reason": "Admin correction",
        },
    ),
}
ALL_SPECS = {**SPECS, **ADMIN_SPECS}


def spec_inputs(name: str, world: World) -> tuple[dict, dict]:
    """(field name → plausible strategy, extra key → strategy) for one endpoint."""
    spec = ALL_SPECS[name]
    fields = {}
    for form in spec.forms(world):
        for key, form_field in form_fields(form).items():
            hint = spec.hints.get(key) or spec.hints.get(key.rsplit("-", 1)[-1])
            strategy = hint(world) if hint else plausible_for(form_field)
            if strategy is not None:  # None: a field the page does not post
                fields[key] = strategy
    return fields, spec.extras(world)


@st.composite
def submissions(draw, fields: dict, extras: dict, valid: dict) -> dict:
    """Either the accepted submission with up to two inputs broken, or every field hostile;
    the view's own keys now and then, and unexpected keys."""
    inputs = {**fields, **extras}
    if draw(st.booleans()):
        data = dict(valid)
        broken = st.lists(st.sampled_from(sorted(inputs)), max_size=2, unique=True)
        for key in draw(broken) if inputs else []:
            data[key] = draw(hostile(inputs[key]))
    else:
        data = {key: draw(hostile(strategy)) for key, strategy in fields.items()}
        for key, strategy in extras.items():
            data[key] = draw(st.one_of(st.just(OMIT), strategy, NASTY))
    data.update(draw(st.dictionaries(EXTRA_KEYS, NASTY, max_size=2)))
    return {key: value for key, value in data.items() if value is not OMIT}


def encoded(data: dict) -> dict:
    """The submission as the test client posts it: lists flattened, uploads as files."""
    posted = {}
    for key, value in data.items():
        flat = []
        for item in value if isinstance(value, list) else [value]:
            flat.extend(item if isinstance(item, list) else [item])
        flat = [
            SimpleUploadedFile("upload.csv", bytes(item), "text/csv")
            if isinstance(item, Upload)
            else item
            for item in flat
            if item is not OMIT
        ]
        if flat:
            posted[key] = flat if len(flat) > 1 else flat[0]
    return posted


# --- the checks --------------------------------------------------------------------------------


def db_state() -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the key columns of every table a form could change."""
    user_model = get_user_model()
    tables = {
        "StockLevel": StockLevel.objects.values_list(
            "pk", "on_hand", "allocated", "safety_stock", "reorder_point"
        ),
        "StockMovement": StockMovement.objects.values_list("pk", "quantity"),
        "SafetyStockChange": SafetyStockChange.objects.values_list("pk"),
        "Product": Product.objects.values_list("pk", "sku", "name", "unit", "is_active"),
        "Customer": Customer.objects.values_list("pk", "name", "email", "is_active"),
        "SalesOrder": SalesOrder.objects.values_list("pk", "status", "priority"),
        "OrderLine": OrderLine.objects.values_list(
            "pk",
            "quantity_ordered",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
        ),
        "Allocation": Allocation.objects.values_list("pk", "quantity"),
        "Release": Release.objects.values_list("pk"),
        "SupplierProduct": SupplierProduct.objects.values_list(
            "pk", "unit_cost", "lead_time_days", "min_order_qty", "pack_size", "is_preferred"
        ),
        "PurchaseOrder": PurchaseOrder.objects.values_list("pk", "status", "expected_date"),
        "PurchaseOrderLine": PurchaseOrderLine.objects.values_list(
            "pk", "quantity_ordered", "quantity_received", "unit_cost"
        ),
        "Shipment": Shipment.objects.values_list("pk"),
        "ShipmentLine": ShipmentLine.objects.values_list("pk", "quantity"),
        "User": user_model.objects.values_list("pk", "password", "is_active", "is_superuser"),
    }
    state = {}
    for name, rows in tables.items():
        rows = list(rows.order_by("pk"))
        state[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
    return state


def assert_escaped(response, where: str) -> None:
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return
    body = response.content.decode(errors="replace")
    for raw in RAW_MARKUP:
        assert raw not in body, f"{where}: {raw!r} appears unescaped in the page"


def assert_local_redirect(target: str, where: str) -> None:
    location = urlsplit(target)
    message = f"{where}: redirects off-site to {target!r}"
    assert location.netloc in {"", "testserver"}, message
    assert location.scheme in {"", "http"}, message


# --- the tests ---------------------------------------------------------------------------------


def _walk(resolver: URLResolver, namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # the admin is Django's; two of its forms are fuzzed via ADMIN_SPECS
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", entry


def post_endpoints(client: Client) -> set[str]:
    """Every URL name whose view accepts POST. Class-based views say so themselves; a function
    view is asked (a 405 means it does not), so it needs no URL arguments to be classified."""
    names = set()
    for name, pattern in _walk(get_resolver()):
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is not None:
            if "post" in view_class.http_method_names and hasattr(view_class, "post"):
                names.add(name)
        elif pattern.pattern.converters or client.post(f"/{pattern.pattern}").status_code != 405:
            names.add(name)
    return names


def test_every_post_endpoint_is_fuzzed(world, client):
    client.force_login(world.user)
    found = post_endpoints(client)
    assert found == set(SPECS), (
        f"POST endpoints without a fuzz spec: {sorted(found - set(SPECS))}; "
        f"specs without an endpoint: {sorted(set(SPECS) - found)}"
    )


@pytest.mark.parametrize("name", sorted(ALL_SPECS))
def test_valid_submission_is_accepted(name, world):
    """Each spec's baseline really passes the form, so the fuzzing starts from the success path
    and the success check of each endpoint is shown to recognise success."""
    spec = ALL_SPECS[name]
    client = Client()
    client.force_login(world.user)
    response = client.post(spec.url(world, client), encoded(spec.valid(world)))
    assert spec.success(response, client), (response.status_code, response.content[:2000])


@pytest.mark.parametrize("name", sorted(ALL_SPECS))
@FUZZ
@given(data=st.data())
def test_bad_input_never_errors_or_changes_anything(name, world, data):
    spec = ALL_SPECS[name]
    fields, extras = spec_inputs(name, world)
    client = Client(enforce_csrf_checks=False)
    savepoint = transaction.savepoint_create()
    try:
        client.force_login(world.user)
        url = spec.url(world, client)
        posted = data.draw(submissions(fields, extras, spec.valid(world)), label="posted")
        headers = data.draw(st.sampled_from([{}, HTMX]) if spec.htmx else st.just({}))
        before = db_state()
        response = client.post(url, encoded(posted), **headers)
        where = f"POST {name} {url}"
        assert response.status_code < 500, f"{where}: {response.status_code}"
        if not spec.may_refuse:
            assert response.status_code not in {403, 404}, f"{where}: {response.status_code}"
        accepted = spec.success(response, client)
        changed = [table for table, row in db_state().items() if before[table] != row]
        event(f"{name}: {'accepted' if accepted else 'refused'}")
        assert accepted or not changed, f"{where}: refused input changed {changed}"
        assert_escaped(response, where)
        target = response.headers.get("Location") or response.headers.get("HX-Redirect")
        if target:
            assert_local_redirect(target, where)
            landing = client.get(target)
            assert landing.status_code < 500, f"{where} → {target}: 5xx"
            assert_escaped(landing, f"{where} → {target}")
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.mark.parametrize("name", sorted(ALL_SPECS))
def test_post_without_csrf_token_is_refused(name, world):
    spec = ALL_SPECS[name]
    primer = Client()
    primer.force_login(world.user)
    url = spec.url(world, primer)
    client = Client(enforce_csrf_checks=True)
    client.cookies = primer.cookies
    before = db_state()
    fields, extras = spec_inputs(name, world)
    response = client.post(url, dict.fromkeys([*fields, *extras], "1"))
    assert response.status_code == 403
    assert db_state() == before


# --- server errors the fuzzing found, pinned as plain tests -------------------------------------


@pytest.mark.parametrize("target", ["0", "stock", "javascript:alert(1)"])
def test_safety_stock_edit_ignores_a_next_that_is_not_a_path(world, client, target):
    # redirect() took a bare word for a URL name to reverse and answered with a server error.
    client.force_login(world.user)
    level = world.levels[0]
    response = client.post(
        reverse("inventory:safetystock-edit", args=[level.pk]), {"value": "9", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inventory:stock-list")
    level.refresh_from_db()
    assert level.safety_stock == 9


@pytest.mark.parametrize("selected", ["", "abc", "1.5", "١", "9" * 30])
def test_admin_stock_action_refuses_a_tampered_selection(world, client, selected):
    # Django's admin passed the posted ids straight to pk__in: a ValueError, a server error.
    client.force_login(world.user)
    before = db_state()
    url = reverse("admin:inventory_stocklevel_changelist")
    response = client.post(
        url,
        {
            "action": "adjust_stock",
            "_selected_action": [str(world.free_level.pk), selected],
            "index": "0",
            "apply": "1",
            "delta": "3",
            "reason": "Admin correction",
        },
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The selection is not valid; tick the rows again."
    ]
    assert db_state() == before
