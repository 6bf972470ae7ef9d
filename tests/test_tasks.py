"""Customer notifications as background tasks: queued only on commit, sent by the worker, and
retried with a growing delay when the mail server fails, without ever touching the release."""

import datetime as dt
import logging
import signal
import smtplib
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from orders.models import Release, SalesOrderStatus
from orders.services import ReleaseDecision, release_confirm, release_propose
from orders.services.common import notify_ready_after_commit
from tests.factories import CustomerFactory
from tests.helpers import give_stock, invariants_check, place

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


class FlakyMailer(LocmemBackend):
    """The locmem outbox behind a server that refuses the next `failures` messages."""

    failures = 0
    attempts = 0

    def send_messages(self, messages):
        FlakyMailer.attempts += 1
        if FlakyMailer.failures:
            FlakyMailer.failures -= 1
            raise smtplib.SMTPServerDisconnected("mail server went away")
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.test_tasks.FlakyMailer"}}
    FlakyMailer.failures = 0
    FlakyMailer.attempts = 0
    return FlakyMailer


@pytest.fixture
def db_tasks(settings):
    settings.TASKS = DB_TASKS


def run_worker():
    """Run the real db_worker command until the queue has nothing ready, then restore the signal
    handlers it installs."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    try:
        call_command(
            "db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0
        )
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def ready_order(user, warehouse, product, *, name="Ada Shop", reference=""):
    """An order waiting for 2 units, then released: it becomes ready to ship."""
    order = place(
        CustomerFactory(name=name, email=f"{name.split()[0].lower()}@example.com"),
        warehouse,
        [(product, 2)],
        by=user,
    )
    if reference:
        type(order).objects.filter(pk=order.pk).update(customer_reference=reference)
    give_stock(product, warehouse, 2, by=user)
    return order


def release_all(warehouse, product, user):
    plan = release_propose(warehouse_id=warehouse.pk, product_ids=[product.pk])
    decisions = [
        ReleaseDecision(line_id=line.line_id, quantity=line.quantity)
        for entry in plan.products
        for line in entry.lines
    ]
    return release_confirm(
        warehouse_id=warehouse.pk,
        product_ids=plan.product_ids,
        fingerprint=plan.fingerprint,
        decisions=decisions,
        by=user,
    )


@contextmanager
def transaction_that_fails():
    with transaction.atomic():
        yield
        raise RuntimeError("a later step of the same transaction failed")


def test_notification_is_queued_only_when_the_release_commits(
    db_tasks, staff_user, warehouse, product, django_capture_on_commit_callbacks, mailoutbox
):
    order = ready_order(staff_user, warehouse, product)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        release_all(warehouse, product, staff_user)
        # Inside the transaction nothing is stored for the worker yet.
        assert DBTaskResult.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    assert len(callbacks) == 1

    callbacks[0]()

    stored = DBTaskResult.objects.get()
    assert stored.task_path == "orders.tasks.orders_ready_notify"
    assert stored.args_kwargs["kwargs"] == {"order_ids": [order.pk]}
    assert stored.status == "READY"
    # Queued, not sent: the request never waits for the mail server.
    assert mailoutbox == []


def test_nothing_is_queued_when_the_transaction_rolls_back(
    db_tasks, staff_user, warehouse, product, django_capture_on_commit_callbacks, mailoutbox
):
    order = ready_order(staff_user, warehouse, product)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction_that_fails(),
    ):
        notify_ready_after_commit([order.pk])
    assert callbacks == []
    assert DBTaskResult.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_a_release_rolled_back_after_queueing_sends_nothing(
    db_tasks, staff_user, warehouse, product, mailoutbox
):
    ready_order(staff_user, warehouse, product)

    def queue_then_fail(order_ids):
        notify_ready_after_commit(order_ids)
        raise RuntimeError("failure after the notification was queued")

    with (
        mock.patch("orders.services.release.confirm.notify_ready_after_commit", queue_then_fail),
        pytest.raises(RuntimeError),
    ):
        release_all(warehouse, product, staff_user)

    assert Release.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    assert mailoutbox == []


def test_ready_email_names_the_order_reference_and_warehouse(
    staff_user, warehouse, product, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DEFAULT_FROM_EMAIL = "stock@backstock.example"
    order = ready_order(staff_user, warehouse, product, name="Ada Shop", reference="PO-ADA-7 <b>&")
    with django_capture_on_commit_callbacks(execute=True):
        release_all(warehouse, product, staff_user)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada@example.com"]
    assert message.from_email == "stock@backstock.example"
    assert message.subject == f"Your order {order.number} is ready to ship"
    assert message.body.startswith("Hello Ada Shop,\n\n")
    assert f"Everything on your order {order.number} (your reference PO-ADA-7 <b>&)" in message.body
    assert f"at our {warehouse.name} warehouse" in message.body


def test_mail_failure_keeps_the_release_and_a_later_attempt_succeeds(
    flaky_mail, staff_user, warehouse, product, django_capture_on_commit_callbacks, caplog
):
    from django.core import mail

    order = ready_order(staff_user, warehouse, product)
    flaky_mail.failures = 1
    with (
        caplog.at_level(logging.WARNING, logger="orders.tasks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = release_all(warehouse, product, staff_user)

    assert Release.objects.filter(pk=result.release.pk).exists()
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.READY
    invariants_check()
    # The first attempt failed and was logged; the retry delivered the email once.
    assert flaky_mail.attempts == 2
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "attempt 1 of 5" in warnings[0].getMessage()
    assert "mail server went away" in warnings[0].getMessage()


# The worker checks its connection between tasks the way requests do, which needs autocommit.
@pytest.mark.django_db(transaction=True)
def test_retry_is_stored_with_a_delay_and_run_by_the_worker_later(
    db_tasks, flaky_mail, staff_user, warehouse, product, django_capture_on_commit_callbacks
):
    from django.core import mail

    order = ready_order(staff_user, warehouse, product)
    with django_capture_on_commit_callbacks(execute=True):
        release_all(warehouse, product, staff_user)
    flaky_mail.failures = 1
    before = timezone.now()

    run_worker()

    first, retry = DBTaskResult.objects.order_by("enqueued_at")
    assert first.status == "SUCCESSFUL"
    assert first.return_value["failed"] == [order.pk]
    assert retry.status == "READY"
    assert retry.args_kwargs["kwargs"] == {"order_ids": [order.pk], "attempt": 2}
    # Backoff: the second attempt waits a minute; the worker did not run it early.
    assert (
        before + dt.timedelta(seconds=55)
        <= retry.run_after
        <= timezone.now() + dt.timedelta(seconds=61)
    )
    assert mail.outbox == []

    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_worker()

    retry.refresh_from_db()
    assert retry.status == "SUCCESSFUL"
    assert retry.return_value["sent"] == [order.pk]
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert DBTaskResult.objects.count() == 2


# The worker checks its connection between tasks the way requests do, which needs autocommit.
@pytest.mark.django_db(transaction=True)
def test_last_failed_attempt_is_recorded_as_a_failed_task_and_logged(
    db_tasks, flaky_mail, staff_user, warehouse, product, django_capture_on_commit_callbacks, caplog
):
    order = ready_order(staff_user, warehouse, product)
    with django_capture_on_commit_callbacks(execute=True):
        release_all(warehouse, product, staff_user)
    flaky_mail.failures = 100

    with mock.patch("orders.tasks.NOTIFY_MAX_ATTEMPTS", 3), caplog.at_level(logging.WARNING):
        for _ in range(3):
            DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
            run_worker()

    results = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [r.args_kwargs["kwargs"].get("attempt", 1) for r in results] == [1, 2, 3]
    assert [r.status for r in results] == ["SUCCESSFUL", "SUCCESSFUL", "FAILED"]
    assert results[-1].exception_class_path == "orders.tasks.NotificationError"
    assert str(order.pk) in results[-1].traceback
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "orders.tasks"]
    assert len(gave_up) == 1
    assert "after 3 attempts" in gave_up[0].getMessage()
    # The release itself is untouched by all of this.
    order.refresh_from_db()
    assert order.status == SalesOrderStatus.READY


# The worker checks its connection between tasks the way requests do, which needs autocommit.
@pytest.mark.django_db(transaction=True)
def test_database_backend_stores_the_task_and_the_worker_sends_it(
    db_tasks, staff_user, warehouse, product, django_capture_on_commit_callbacks, mailoutbox
):
    order = ready_order(staff_user, warehouse, product)
    second = ready_order(staff_user, warehouse, product, name="Bob Stores")
    with django_capture_on_commit_callbacks(execute=True):
        release_all(warehouse, product, staff_user)
    stored = DBTaskResult.objects.get()
    assert stored.status == "READY"
    assert mailoutbox == []

    run_worker()

    stored.refresh_from_db()
    assert stored.status == "SUCCESSFUL"
    assert sorted(stored.return_value["sent"]) == sorted([order.pk, second.pk])
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@example.com", "bob@example.com"]


# The worker checks its connection between tasks the way requests do, which needs autocommit.
@pytest.mark.django_db(transaction=True)
def test_an_order_no_longer_ready_is_not_announced(
    db_tasks, staff_user, warehouse, product, django_capture_on_commit_callbacks, mailoutbox
):
    order = ready_order(staff_user, warehouse, product)
    with django_capture_on_commit_callbacks(execute=True):
        release_all(warehouse, product, staff_user)
    # Shipped (or cancelled) before the worker got to it: the customer is not told it is ready.
    type(order).objects.filter(pk=order.pk).update(status=SalesOrderStatus.SHIPPED)

    run_worker()

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert mailoutbox == []
