"""The page people see when the database is unreachable, whichever layer of a request finds out.

A lost connection (server restarted, failover, network cut) surfaces as OperationalError or
InterfaceError. Every write runs in one transaction, so by the time the exception reaches Django's
handler it has been rolled back: nothing was saved, and trying again is safe. That is what the 503
page says, with a Retry-After header, instead of the generic 500 page, which is kept for real
programming errors.

The database is reached at several layers of a request: the session is loaded by middleware
(SessionIdleMiddleware looks at it before any view runs), the user by authentication, sign-in
attempts by django-axes, rows by the view and its template, and the session is saved again on the
way out. Django turns an exception raised inside a middleware into a response right there, before
any outer middleware sees it, so no middleware can catch them all. Two places together do:

- `DatabaseUnavailableMiddleware.process_exception` answers a failure raised by the view or its
  template, before Django reports it as an unhandled error;
- `server_error` and `bad_request`, the project's handler500 and handler400 (config/urls.py),
  answer one raised anywhere else. The 400 handler is needed because a session that cannot be
  saved reaches Django as SessionInterrupted, a "bad request", raised while handling the
  database error.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger("backstock.database")

RETRY_AFTER_SECONDS = 10


def database_unreachable(exception: BaseException | None) -> bool:
    """Whether the exception is a lost database, or was raised from or while handling one."""
    seen = set()
    while exception is not None and id(exception) not in seen:
        if isinstance(exception, OperationalError | InterfaceError):
            return True
        seen.add(id(exception))
        if exception.__cause__ is None and exception.__suppress_context__:
            return False
        exception = exception.__cause__ or exception.__context__
    return False


def database_unavailable_response() -> HttpResponse:
    # Rendered without the request: the context processors would read the session and the user
    # from the database that has just failed.
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database connection failure raised by a view into a 503 "nothing was saved" page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unreachable(exception):
            return None
        logger.error(
            "Database unavailable during %s %s: %s",
            request.method,
            request.path,
            exception,
            exc_info=exception,
        )
        return database_unavailable_response()


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """handler500. Django calls it while handling the exception (and logs that exception on
    `django.request` with its traceback), so the exception is the one being handled."""
    if database_unreachable(sys.exc_info()[1]):
        return database_unavailable_response()
    return defaults.server_error(request, template_name)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """handler400."""
    if database_unreachable(exception):
        return database_unavailable_response()
    return defaults.bad_request(request, exception, template_name)
