"""Background work of the orders area, run by the task worker (`manage.py db_worker`).

Customer notifications are tasks enqueued once the transaction that made the orders ready has
committed (see `orders.services.common.notify_ready_after_commit`), so a slow or failing mail
server can neither hold up nor undo a release. A failed delivery is retried with a growing delay
a bounded number of times; the last failure is logged as an error and recorded as a failed task
(listed in the admin with its traceback).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.tasks import task
from django.utils import timezone

from .models import SalesOrder, SalesOrderStatus

logger = logging.getLogger(__name__)

# Attempts in all (the first one included); the delay doubles after each failure: 1, 2, 4, 8 min.
NOTIFY_MAX_ATTEMPTS = 5
NOTIFY_RETRY_SECONDS = 60


class NotificationError(Exception):
    """Raised by the last attempt, so the task is recorded as failed."""


def ready_message(order: SalesOrder) -> EmailMessage:
    """The email telling a customer that everything on their order is reserved for them."""
    reference = f" (your reference {order.customer_reference})" if order.customer_reference else ""
    return EmailMessage(
        subject=f"Your order {order.number} is ready to ship",
        body=(
            f"Hello {order.customer.name},\n\n"
            f"Everything on your order {order.number}{reference} is now reserved for you at our "
            f"{order.warehouse.name} warehouse and will be shipped shortly.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[order.customer.email],
    )


def _deliver(orders: list[SalesOrder]) -> tuple[list[int], list[int], Exception | None]:
    """Send one message per order over one connection; returns sent ids, failed ids, last error.

    Messages go one at a time so that a server failing halfway through is retried only for the
    customers who did not get their email yet."""
    sent: list[int] = []
    failed: list[int] = []
    error: Exception | None = None
    mailer = mailers.default
    try:
        mailer.open()
    except Exception as exc:
        return [], [order.pk for order in orders], exc
    try:
        for order in orders:
            try:
                mailer.send_messages([ready_message(order)])
            except Exception as exc:
                failed.append(order.pk)
                error = exc
            else:
                sent.append(order.pk)
    finally:
        try:
            mailer.close()
        except Exception:
            logger.warning("Closing the mail connection failed", exc_info=True)
    return sent, failed, error


def _retry_or_give_up(*, order_ids: list[int], attempt: int, error: Exception | None) -> str:
    if attempt >= NOTIFY_MAX_ATTEMPTS:
        logger.error(
            "Gave up sending ready-to-ship emails for orders %s after %d attempts: %r",
            order_ids,
            attempt,
            error,
        )
        raise NotificationError(
            f"Ready-to-ship emails for orders {order_ids} failed {attempt} times: {error!r}"
        ) from error
    delay = dt.timedelta(seconds=NOTIFY_RETRY_SECONDS * 2 ** (attempt - 1))
    logger.warning(
        "Sending ready-to-ship emails for orders %s failed (attempt %d of %d, retrying in %s): %r",
        order_ids,
        attempt,
        NOTIFY_MAX_ATTEMPTS,
        delay,
        error,
    )
    retry = orders_ready_notify
    run_after = timezone.now() + delay
    # The database backend runs the retry no earlier than run_after; a backend without deferred
    # runs (the immediate one, in tests) runs it straight away, still bounded by the attempts.
    if retry.get_backend().supports_defer:
        retry = retry.using(run_after=run_after)
    retry.enqueue(order_ids=order_ids, attempt=attempt + 1)
    return run_after.isoformat()


@task
def orders_ready_notify(*, order_ids: list[int], attempt: int = 1) -> dict:
    """Email each customer whose order is still ready to ship; failed emails are retried."""
    orders = list(
        SalesOrder.objects.filter(pk__in=order_ids, status=SalesOrderStatus.READY)
        .exclude(customer__email="")
        .select_related("customer", "warehouse")
        .order_by("pk")
    )
    outcome = {"attempt": attempt, "sent": [], "failed": [], "retry_after": None}
    if orders:
        outcome["sent"], outcome["failed"], error = _deliver(orders)
        if outcome["failed"]:
            outcome["retry_after"] = _retry_or_give_up(
                order_ids=outcome["failed"], attempt=attempt, error=error
            )
    return outcome
