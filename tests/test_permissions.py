"""The permission matrix: every page of every area, for every kind of visitor.

Anonymous visitors are sent to sign in; a signed-in user whose role lacks the permission gets 403;
the roles that should reach a page get it. The expected roles are written out here by hand (not
read from the views), so a view guarded by the wrong permission fails this test.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from orders.models import OrderLine, Release
from orders.services import ReleaseDecision, release_confirm, release_propose
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    SupplierFactory,
    UserFactory,
    WarehouseFactory,
)
from tests.helpers import give_stock, place, sent_po

STAFF, MANAGER = "staff", "manager"
BOTH = {STAFF, MANAGER}

# URL name → roles that may open it. Every URL of the three areas must be listed.
EXPECTED = {
    "home": BOTH,
    "inventory:stock-list": BOTH,
    "inventory:safetystock-edit": BOTH,
    "inventory:safetystock-bulk": BOTH,
    "inventory:stocklevel-adjust": BOTH,
    "inventory:stocklevel-transfer": BOTH,
    "inventory:product-detail": BOTH,
    "inventory:product-chart": BOTH,
    "inventory:product-history": {MANAGER},
    "suppliers:product-import": {MANAGER},
    "suppliers:product-import-preview": {MANAGER},
    "planning:reorder-dashboard": {MANAGER},
    "planning:reorder-draft-pos": {MANAGER},
    "planning:reorder-apply-safety-stock": {MANAGER},
    "orders:order-list": BOTH,
    "orders:order-create": BOTH,
    "orders:product-lookup": BOTH,
    "orders:customer-lookup": BOTH,
    "orders:order-import": BOTH,
    "orders:order-import-preview": BOTH,
    "orders:order-detail": BOTH,
    "orders:order-history": {MANAGER},
    "orders:order-ship": BOTH,
    "orders:order-cancel": BOTH,
    "orders:orderline-cancel": BOTH,
    "orders:backorder-list": BOTH,
    "orders:customer-create": BOTH,
    "orders:release-review": BOTH,
    "orders:release-detail": BOTH,
    "suppliers:receiving-list": BOTH,
    "suppliers:receive": BOTH,
    "suppliers:supplier-list": BOTH,
    "suppliers:supplier-detail": BOTH,
    "suppliers:purchaseorder-list": BOTH,
    "suppliers:purchaseorder-detail": BOTH,
    "suppliers:purchaseorder-history": {MANAGER},
    "suppliers:purchaseorder-create": {MANAGER},
    "suppliers:supplier-lookup": {MANAGER},
    "suppliers:purchaseorder-send": {MANAGER},
    "suppliers:purchaseorder-cancel": {MANAGER},
}

# Pages reached with a one-time token from an upload: a made-up token is answered with a redirect
# or a 404 for a permitted user, never with the page itself.
TOKEN_PAGES = {"suppliers:product-import-preview", "orders:order-import-preview"}
# Actions on a selection of rows: there is nothing to show on GET, so it goes back to the list.
GET_GOES_BACK = {
    "inventory:safetystock-bulk",
    "planning:reorder-draft-pos",
    "planning:reorder-apply-safety-stock",
}


def _walk(resolver: URLResolver, namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def _project_urls() -> dict[str, URLPattern]:
    return {
        name: pattern
        for name, pattern in _walk(get_resolver())
        if name == "home" or name.split(":")[0] in {"inventory", "suppliers", "orders", "planning"}
    }


def test_every_url_is_in_the_matrix():
    assert set(_project_urls()) == set(EXPECTED)


@pytest.fixture
def world(db, staff_user):
    """One of everything a URL can point at."""
    warehouse = WarehouseFactory(code="PRM")
    product = ProductFactory()
    give_stock(product, warehouse, 10, by=staff_user)
    customer = CustomerFactory()
    order = place(customer, warehouse, [(product, 15)], by=staff_user)
    po = sent_po(SupplierFactory(), warehouse, [(product, 20)], by=staff_user)
    release = Release.objects.create(warehouse=warehouse, created_by=staff_user)
    return {
        "level": product.stock_levels.get(warehouse=warehouse),
        "product": product,
        "order": order,
        "line": OrderLine.objects.get(order=order),
        "po": po,
        "supplier": po.supplier,
        "release": release,
        "warehouse": warehouse,
    }


def _url(name: str, world) -> str:
    keys = {
        "inventory:safetystock-edit": world["level"].pk,
        "inventory:stocklevel-adjust": world["level"].pk,
        "inventory:stocklevel-transfer": world["level"].pk,
        "inventory:product-detail": world["product"].pk,
        "inventory:product-history": world["product"].pk,
        "inventory:product-chart": world["product"].pk,
        "orders:order-detail": world["order"].pk,
        "orders:order-history": world["order"].pk,
        "orders:order-ship": world["order"].pk,
        "orders:order-cancel": world["order"].pk,
        "orders:orderline-cancel": world["line"].pk,
        "orders:release-detail": world["release"].pk,
        "suppliers:receive": world["po"].pk,
        "suppliers:supplier-detail": world["supplier"].pk,
        "suppliers:purchaseorder-detail": world["po"].pk,
        "suppliers:purchaseorder-history": world["po"].pk,
        "suppliers:purchaseorder-send": world["po"].pk,
        "suppliers:purchaseorder-cancel": world["po"].pk,
    }
    if name in TOKEN_PAGES:
        return reverse(name, kwargs={"token": "0123456789abcdef"})
    if name in keys:
        return reverse(name, kwargs={"pk": keys[name]})
    url = reverse(name)
    if name == "orders:release-review":
        url += f"?warehouse={world['warehouse'].pk}&product={world['product'].pk}"
    return url


def _allows_get(pattern: URLPattern) -> bool:
    view_class = getattr(pattern.callback, "view_class", None)
    return view_class is None or (
        "get" in view_class.http_method_names and hasattr(view_class, "get")
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_anonymous_visitors_are_sent_to_sign_in(client, world, name):
    url = _url(name, world)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("role", ["nobody", STAFF, MANAGER])
def test_each_role_reaches_exactly_its_pages(client, world, staff_user, manager_user, name, role):
    user = {"nobody": UserFactory(username="nobody"), STAFF: staff_user, MANAGER: manager_user}[
        role
    ]
    client.force_login(user)
    pattern = _project_urls()[name]
    response = client.get(_url(name, world))
    if name == "home":
        assert response.status_code == 200
    elif role not in EXPECTED[name]:
        assert response.status_code == 403
    elif name in GET_GOES_BACK:
        assert response.status_code == 302
        assert not response["Location"].startswith(reverse("login"))
    elif name in TOKEN_PAGES:
        assert response.status_code in {302, 404}
        assert not response.get("Location", "").startswith(reverse("login"))
    elif _allows_get(pattern):
        assert response.status_code == 200, response.content[:500]
    else:
        assert response.status_code == 405


@pytest.mark.parametrize(
    "name",
    [
        "orders:order-ship",
        "orders:order-cancel",
        "orders:orderline-cancel",
        "suppliers:purchaseorder-send",
        "suppliers:purchaseorder-cancel",
        "inventory:stocklevel-adjust",
    ],
)
def test_a_post_without_the_permission_is_refused_and_changes_nothing(client, world, name):
    client.force_login(UserFactory(username="nobody"))
    before = (world["order"].status, world["po"].status, world["level"].on_hand)
    response = client.post(_url(name, world), {"reason": "x", "delta": "1", "quantity": "1"})
    assert response.status_code == 403
    world["order"].refresh_from_db()
    world["po"].refresh_from_db()
    world["level"].refresh_from_db()
    assert (world["order"].status, world["po"].status, world["level"].on_hand) == before


def test_staff_cannot_create_purchase_orders_but_managers_can_open_the_form(
    client, staff_user, manager_user
):
    client.force_login(staff_user)
    assert client.get(reverse("suppliers:purchaseorder-create")).status_code == 403
    client.force_login(manager_user)
    assert client.get(reverse("suppliers:purchaseorder-create")).status_code == 200


def test_release_detail_of_a_real_release_opens_for_staff(client, world, staff_user):
    give_stock(world["product"], world["warehouse"], 5, by=staff_user)
    plan = release_propose(warehouse_id=world["warehouse"].pk, product_ids=[world["product"].pk])
    result = release_confirm(
        warehouse_id=world["warehouse"].pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=[
            ReleaseDecision(line.line_id, line.quantity) for p in plan.products for line in p.lines
        ],
        by=staff_user,
    )
    client.force_login(staff_user)
    response = client.get(reverse("orders:release-detail", args=[result.release.pk]))
    assert response.status_code == 200
    assert world["order"].number in response.content.decode()
