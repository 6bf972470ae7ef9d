"""Issue 11 end to end: the app under gunicorn with production settings on PostgreSQL, as
`make serve` runs it, driven over real HTTP by a staff user and a manager who sign in with the
sign-in form and post the forms they were given, CSRF and form tokens included.

- item 1: ten copies of one New order / New purchase order post sent at once create one;
- item 2: NUL in a URL is the 400 page, NUL in a posted field is the form with an error;
- item 4: totals past 2³¹ (three adjustments, three orders of 10⁹ units) are all accepted;
- item 5: the database going away mid-request is the 503 page with Retry-After.

The server is a separate process, so every row the test makes is committed (transaction=True) and
what the server did is read back from the database afterwards.
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.utils import timezone

from backoffice.integrity import stock_discrepancies
from bench.load import free_port, server_environment, stop, wait_healthy
from common.input_guard import REFUSED_MESSAGE
from inventory.models import StockLevel, StockMovement
from orders.models import OrderLine, Priority, SalesOrder
from suppliers.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from tests.factories import StockLevelFactory
from tests.helpers import give_stock
from tests.test_database_outage import (
    ROOT,
    cut_at_every_message,
    database_url_on_port,
    fetch,
    live_server_url,  # noqa: F401 - a fixture
    relay,  # noqa: F401 - a fixture
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
# `make serve` runs WEB_CONCURRENCY (5) sync workers: copies of one post really run side by side.
WORKERS = 5
COPIES = 10
INPUT = 1_000_000_000  # the largest quantity one form accepts
TOTAL = 3 * INPUT

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ONCE_TOKEN_FIELD = re.compile(r'name="once_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def served(django_db_setup, tmp_path_factory):
    """Port of gunicorn with production settings and as many workers as `make serve`, straight on
    the test database (no relay: nothing here cuts it).

    One server for the module, since starting one is most of a test's time: the workers keep no
    rows between requests (sessions, users and permissions are read from the database each time),
    so the flush after each test leaves them nothing stale."""
    settings_dict = connection.settings_dict
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    environment = server_environment(database_url_on_port(int(settings_dict["PORT"] or 5432)))
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={WORKERS}",
                "--timeout=60",
            ],
            env=environment,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", server, log_path)
            yield port
        finally:
            stop(server)


class Visitor:
    """One browser on the live server: keeps the cookies the server sets, follows no redirect."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict | None = None):
        # `fetch` keeps one Set-Cookie header of several; signing in sets two.
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            for header in response.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            return (
                response.status,
                {name.lower(): value for name, value in response.getheaders()},
                response.read().decode(),
            )
        finally:
            conn.close()

    def page(self, path: str) -> str:
        status, _headers, text = self.send("GET", path)
        assert status == 200, (path, text[:500])
        return text

    def form(self, path: str) -> dict[str, str]:
        """The hidden tokens of the form at `path`, as a browser would post them back."""
        text = self.page(path)
        tokens = {"csrfmiddlewaretoken": CSRF_FIELD.search(text).group(1)}
        if once := ONCE_TOKEN_FIELD.search(text):
            tokens["once_token"] = once.group(1)
        return tokens

    def post(self, path: str, data: dict):
        return self.send("POST", path, {**self.form(path), **data})


def sign_in(port: int, user) -> Visitor:
    # The server only knows production's hashers; few iterations keep the sign-in quick.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    visitor = Visitor(port)
    status, headers, text = visitor.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}
    )
    assert (status, headers.get("location")) == (302, "/"), text[:500]
    assert settings.SESSION_COOKIE_NAME in visitor.cookies
    return visitor


def order_form(customer, warehouse, product, quantity: int, reference: str = "") -> dict:
    return {
        "customer": customer.pk,
        "warehouse": warehouse.pk,
        "priority": Priority.NORMAL,
        "customer_reference": reference,
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
        "lines-0-sku": product.sku,
        "lines-0-quantity": str(quantity),
    }


def purchase_order_form(supplier, warehouse, product) -> dict:
    return {
        "supplier": supplier.pk,
        "warehouse": warehouse.pk,
        "expected_date": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-sku": product.sku,
        "lines-0-quantity": "20",
        "lines-0-unit_cost": "1.50",
    }


def adjustment(quantity: int, reason: str = "Pallet found in the yard") -> dict:
    return {"mode": "add", "quantity": str(quantity), "reason": reason}


def copies_at_once(visitor: Visitor, path: str, data: dict) -> list[tuple[int, str | None]]:
    """One form, tokens and all, posted COPIES times at once with the one session, as a button
    pressed again and again does: (status, Location) of each."""
    body = {**visitor.form(path), **data}
    start = threading.Barrier(COPIES)

    def post(_):
        start.wait(timeout=10)
        status, headers, text = fetch(
            visitor.port, "POST", path, cookies=visitor.cookies, form=body
        )
        return status, headers.get("location", text[:300])

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(post, range(COPIES)))


def assert_400_page(status: int, text: str) -> None:
    assert status == 400, text[:500]
    assert "This request could not be read" in text
    assert "Something went wrong" not in text


# --- item 1 ------------------------------------------------------------------------------------


def test_ten_copies_of_a_new_order_place_one_order(
    served, staff_user, warehouse, product, customer
):
    level = give_stock(product, warehouse, 10, by=staff_user)
    visitor = sign_in(served, staff_user)

    outcomes = copies_at_once(visitor, "/orders/new/", order_form(customer, warehouse, product, 3))

    order = SalesOrder.objects.get()
    assert outcomes == [(302, order.get_absolute_url())] * COPIES
    assert list(OrderLine.objects.values_list("quantity_ordered", flat=True)) == [3]
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (10, 3)
    assert stock_discrepancies() == []


def test_ten_copies_of_a_new_purchase_order_create_one_draft(
    served, manager_user, supplier, warehouse, product
):
    visitor = sign_in(served, manager_user)

    outcomes = copies_at_once(
        visitor, "/purchase-orders/new/", purchase_order_form(supplier, warehouse, product)
    )

    po = PurchaseOrder.objects.get()
    assert po.status == PurchaseOrderStatus.DRAFT
    assert outcomes == [(302, po.get_absolute_url())] * COPIES
    assert list(PurchaseOrderLine.objects.values_list("quantity_ordered", flat=True)) == [20]
    assert stock_discrepancies() == []


# --- item 2 ------------------------------------------------------------------------------------


def test_nul_in_a_url_is_the_400_page_and_in_a_field_a_form_error(
    served, staff_user, manager_user, warehouse, product, customer
):
    staff = sign_in(served, staff_user)
    manager = sign_in(served, manager_user)

    status, _headers, text = staff.send("GET", "/orders/new/sku-lookup/?q=%00")
    assert_400_page(status, text)
    status, _headers, text = manager.send("GET", "/reorder/?supplier=%00")
    assert_400_page(status, text)

    status, _headers, text = staff.post(
        "/orders/new/", order_form(customer, warehouse, product, 3, reference="PO\x00 4471")
    )
    assert status == 200, text[:500]
    assert REFUSED_MESSAGE in text
    assert not SalesOrder.objects.exists()


# --- item 4 ------------------------------------------------------------------------------------


def test_totals_past_32_bits_are_accepted_over_http(
    served, staff_user, warehouse, product, customer
):
    level = StockLevelFactory(product=product, warehouse=warehouse)
    visitor = sign_in(served, staff_user)
    path = f"/stock/levels/{level.pk}/adjust/"

    answers = [visitor.post(path, adjustment(INPUT))[:2] for _ in range(3)]

    product_page = product.get_absolute_url()
    assert [(status, headers["location"]) for status, headers in answers] == [
        (302, product_page)
    ] * 3
    assert f"on hand is now {TOTAL}" in visitor.page(product_page)
    level.refresh_from_db()
    assert level.on_hand == TOTAL

    for _ in range(3):
        status, headers, text = visitor.post(
            "/orders/new/", order_form(customer, warehouse, product, INPUT)
        )
        assert status == 302, text[:500]
        assert re.fullmatch(r"/orders/\d+/", headers["location"])

    assert SalesOrder.objects.count() == 3
    assert sum(OrderLine.objects.values_list("quantity_ordered", flat=True)) == TOTAL
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (TOTAL, TOTAL)
    assert stock_discrepancies() == []


# --- item 5 ------------------------------------------------------------------------------------


def test_an_adjustment_cut_off_from_the_database_is_the_503_page(
    relay,  # noqa: F811 - the imported fixture
    live_server_url,  # noqa: F811 - the imported fixture
    staff_user,
    warehouse,
    product,
):
    level = StockLevelFactory(product=product, warehouse=warehouse)
    visitor = sign_in(live_server_url, staff_user)
    path = f"/stock/levels/{level.pk}/adjust/"
    body = {**visitor.form(path), **adjustment(1)}

    def adjust():
        return fetch(live_server_url, "POST", path, cookies=visitor.cookies, form=body)

    cut = cut_at_every_message(relay, adjust, {302})

    # The session, the user, the level's reads and the adjustment's writes are each cut at least.
    assert cut >= 5
    # "Nothing was saved" holds: only the one post that got through added its unit.
    assert StockMovement.objects.filter(level=level).count() == 1
    assert StockLevel.objects.get(pk=level.pk).on_hand == 1
    assert stock_discrepancies() == []
