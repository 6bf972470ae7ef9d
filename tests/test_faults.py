"""The database failing in the middle of a release or a receipt: nothing is half-applied, the
stock checks stay clean, and the person sees a 503 page saying nothing was saved.

On PostgreSQL the failure is real: a second connection terminates the request's server process
while its transaction is half-way through. On any database, an OperationalError raised at the
same point stands in for it.
"""

import psycopg
import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils.http import urlencode

from backoffice.integrity import stock_discrepancies
from orders.models import Release
from orders.services import common as order_common
from suppliers.models import Shipment
from suppliers.services import receiving as supplier_receiving
from tests.factories import CustomerFactory, SupplierFactory
from tests.helpers import give_stock, place, sent_po

SNAPSHOT_APPS = ("inventory", "orders", "suppliers", "django_tasks_database")


def database_snapshot() -> dict[str, list[tuple]]:
    """Every row of every table the domain (and the task queue and admin log) keeps."""
    models = [m for label in SNAPSHOT_APPS for m in apps.get_app_config(label).get_models()]
    models.append(LogEntry)
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in models}


def terminate_own_backend():
    """Kill this connection's server process from a second connection, as a crash or a failover
    would."""
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as killer:
        killer.execute("SELECT pg_terminate_backend(%s)", [pid])


def raise_operational_error():
    raise OperationalError("simulated: server closed the connection unexpectedly")


def failing_midway(original, fail):
    def wrapper(*args, **kwargs):
        fail()
        return original(*args, **kwargs)

    return wrapper


@pytest.fixture
def waiting_release(staff_user, warehouse, product):
    """Two orders waiting for 5 and 3 units, and 8 units on the shelf to release to them."""
    for quantity in (5, 3):
        place(CustomerFactory(), warehouse, [(product, quantity)], by=staff_user)
    give_stock(product, warehouse, 8, by=staff_user)
    return warehouse, product


def release_post(client, warehouse, product) -> dict:
    """The release review form, as the page posts it when staff press Confirm."""
    query = urlencode([("warehouse", warehouse.pk), ("product", product.pk)])
    page = client.get(f"{reverse('orders:release-review')}?{query}")
    assert page.status_code == 200
    form = page.context["confirm_form"]
    data = {
        name: form.initial.get(name) or ""
        for name in ("warehouse", "product", "shipment", "fingerprint", "moved_up", "note")
    }
    data["confirm"] = "1"
    for _, rows, _hidden in page.context["lines_form"].products():
        for row in rows:
            data[row.name] = row.value
    return data


@pytest.fixture
def receivable_po(manager_user, warehouse, product):
    return sent_po(SupplierFactory(), warehouse, [(product, 10)], by=manager_user)


def receive_post(po) -> dict:
    line = po.lines.get()
    return {"idempotency_key": "f" * 32, "reference": "DN-77", f"line_{line.pk}": "6"}


def assert_503_nothing_saved(response):
    assert response.status_code == 503
    assert response["Retry-After"]
    text = response.content.decode()
    assert "Nothing was saved" in text
    assert "try again" in text
    # Not the generic error page.
    assert "Something went wrong" not in text


def assert_unchanged(before):
    after = database_snapshot()
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"{table} changed"
    assert stock_discrepancies() == []


# --- simulated failure (every database) ----------------------------------------------------------


def test_release_failing_midway_applies_nothing_and_shows_503(
    staff_client, waiting_release, monkeypatch, mailoutbox
):
    warehouse, product = waiting_release
    data = release_post(staff_client, warehouse, product)
    before = database_snapshot()
    # orders_lock_ids runs after the allocations, lines and levels were written.
    monkeypatch.setattr(
        "orders.services.release.confirm.orders_lock_ids",
        failing_midway(order_common.orders_lock_ids, raise_operational_error),
    )

    response = staff_client.post(reverse("orders:release-review"), data)

    assert_503_nothing_saved(response)
    assert_unchanged(before)
    assert mailoutbox == []


def test_receipt_failing_midway_applies_nothing_and_shows_503(
    manager_client, receivable_po, monkeypatch
):
    before = database_snapshot()
    # stock_movements_apply runs after the shipment, its lines and the PO lines were written.
    monkeypatch.setattr(
        "suppliers.services.receiving.stock_movements_apply",
        failing_midway(supplier_receiving.stock_movements_apply, raise_operational_error),
    )

    response = manager_client.post(
        reverse("suppliers:receive", args=[receivable_po.pk]), receive_post(receivable_po)
    )

    assert_503_nothing_saved(response)
    assert_unchanged(before)


def test_the_same_receipt_goes_through_once_the_database_is_back(
    manager_client, receivable_po, monkeypatch
):
    data = receive_post(receivable_po)
    with monkeypatch.context() as patched:
        patched.setattr(
            "suppliers.services.receiving.stock_movements_apply",
            failing_midway(supplier_receiving.stock_movements_apply, raise_operational_error),
        )
        failed = manager_client.post(reverse("suppliers:receive", args=[receivable_po.pk]), data)
    assert failed.status_code == 503

    # Submitting the same form again (same idempotency key) now counts it, once.
    retried = manager_client.post(reverse("suppliers:receive", args=[receivable_po.pk]), data)
    assert retried.status_code == 302
    assert Shipment.objects.count() == 1
    assert receivable_po.lines.get().quantity_received == 6
    assert stock_discrepancies() == []


def test_other_errors_still_get_the_500_page(staff_client, waiting_release, monkeypatch):
    warehouse, product = waiting_release
    data = release_post(staff_client, warehouse, product)
    staff_client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr("orders.services.release.confirm.orders_lock_ids", broken)
    response = staff_client.post(reverse("orders:release-review"), data)
    assert response.status_code == 500


# --- real connection loss (PostgreSQL) -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_release_survives_its_connection_being_killed_midway(
    staff_client, waiting_release, monkeypatch, mailoutbox
):
    warehouse, product = waiting_release
    data = release_post(staff_client, warehouse, product)
    before = database_snapshot()
    monkeypatch.setattr(
        "orders.services.release.confirm.orders_lock_ids",
        failing_midway(order_common.orders_lock_ids, terminate_own_backend),
    )

    response = staff_client.post(reverse("orders:release-review"), data)

    assert_503_nothing_saved(response)
    monkeypatch.undo()
    assert_unchanged(before)
    assert Release.objects.count() == 0
    assert mailoutbox == []

    # The next request gets a fresh connection, and the same plan now goes through.
    confirmed = staff_client.post(reverse("orders:release-review"), data)
    assert confirmed.status_code == 302
    assert Release.objects.count() == 1
    assert stock_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_receipt_survives_its_connection_being_killed_midway(
    manager_client, receivable_po, monkeypatch
):
    before = database_snapshot()
    monkeypatch.setattr(
        "suppliers.services.receiving.stock_movements_apply",
        failing_midway(supplier_receiving.stock_movements_apply, terminate_own_backend),
    )

    response = manager_client.post(
        reverse("suppliers:receive", args=[receivable_po.pk]), receive_post(receivable_po)
    )

    assert_503_nothing_saved(response)
    monkeypatch.undo()
    assert_unchanged(before)
    assert Shipment.objects.count() == 0
