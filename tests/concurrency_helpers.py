"""Running service calls in real threads against PostgreSQL, so that they really race.

Each worker gets its own database connection (Django keeps one per thread), opens it before the
start line so connecting does not stagger the start, waits at a shared barrier, runs, and closes
its connection whatever happens. A worker that does not finish in time is a failure: its backend is
terminated so its locks cannot hang the test database's teardown flush as well.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

START_TIMEOUT = 10.0


@dataclass
class Outcome:
    """What one worker returned or raised."""

    index: int
    value: Any = None
    error: BaseException | None = None
    error_trace: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def run_in_threads(targets: Sequence[Callable[[], Any]], *, timeout: float = 30.0) -> list[Outcome]:
    """Start every target at the same moment, each in its own thread with its own connection,
    and return their outcomes in order. Fails the test if a thread is still running after timeout
    seconds."""
    barrier = threading.Barrier(len(targets))
    outcomes = [Outcome(index=n) for n in range(len(targets))]
    backend_pids: dict[int, int] = {}

    def work(n: int, target: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            backend_pids[n] = connection.connection.info.backend_pid
            barrier.wait(timeout=START_TIMEOUT)
            outcomes[n].value = target()
        except BaseException as exc:  # reported to the test thread below, never lost
            outcomes[n].error = exc
            outcomes[n].error_trace = traceback.format_exc()
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(n, target), name=f"race-{n}", daemon=True)
        for n, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [n for n, thread in enumerate(threads) if thread.is_alive()]
    if hung:
        _terminate_backends([backend_pids[n] for n in hung if n in backend_pids])
        for n in hung:
            threads[n].join(timeout=5)
        pytest.fail(f"worker threads {hung} were still running after {timeout}s (a lock hang?)")
    return outcomes


def _terminate_backends(pids: list[int]) -> None:
    if not pids:
        return
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def errors_of(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [outcome for outcome in outcomes if not outcome.ok]


def assert_no_errors(outcomes: Sequence[Outcome]) -> None:
    """Fail with every worker's traceback if any worker raised."""
    failed = errors_of(outcomes)
    if failed:
        details = "\n".join(f"--- worker {o.index} ---\n{o.error_trace}" for o in failed)
        pytest.fail(f"{len(failed)} of {len(outcomes)} workers raised:\n{details}")
