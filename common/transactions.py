"""The write transaction every service runs in: one durable transaction, retried from the start
when PostgreSQL picks it as a deadlock victim."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)


# PostgreSQL SQLSTATEs worth retrying: the database chose us as a deadlock victim or could not
# serialise; the whole transaction is rolled back, so running it again from the start is safe.
_RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


_MAX_ATTEMPTS = 4


def _is_retryable(exc: OperationalError) -> bool:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or getattr(
        getattr(cause, "diag", None), "sqlstate", None
    )
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc)


def write_transaction[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run a top-level write in one durable transaction, retrying it on deadlock.

    Row locks are taken in a fixed order, so deadlocks should not happen; this is the safety net
    that keeps one from ever reaching a user. Callbacks queued with on_commit in a failed attempt
    are discarded with its rollback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic(durable=True):
                    return func(*args, **kwargs)
            except OperationalError as exc:
                if attempt == _MAX_ATTEMPTS or not _is_retryable(exc):
                    raise
                logger.warning("%s: retrying after %s (attempt %d)", func.__name__, exc, attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
