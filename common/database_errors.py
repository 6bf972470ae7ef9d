"""The page people see when the database fails in the middle of a request.

A lost connection (server restarted, failover, network cut) surfaces as OperationalError or
InterfaceError. Every write runs in one transaction, so by the time the exception reaches this
middleware it has been rolled back: nothing was saved, and trying again is safe. That is what the
503 page says, instead of the generic 500 page, which is kept for real programming errors.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger("backstock.database")

RETRY_AFTER_SECONDS = 10


class DatabaseUnavailableMiddleware:
    """Turns a database connection failure raised by a view into a 503 "nothing was saved" page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error(
            "Database unavailable during %s %s: %s",
            request.method,
            request.path,
            exception,
            exc_info=exception,
        )
        # Rendered without the request: the context processors would read the session and the
        # user from the database that has just failed.
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
