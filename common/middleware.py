"""Project-wide middleware: one log record per request, and sessions that expire when idle."""

import logging
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY

request_logger = logging.getLogger("backstock.request")

# Key in the session holding when its expiry was last pushed forward (Unix seconds).
SESSION_REFRESHED_KEY = "_backstock_refreshed"


def _user_id(request) -> int | None:
    # AuthenticationMiddleware caches the user here once something has looked at request.user.
    # Reading the cache (rather than request.user) never costs the queries of loading a session
    # and user that the view did not need.
    user = getattr(request, "_cached_user", None)
    if user is not None and user.is_authenticated:
        return user.pk
    return None


class RequestLogMiddleware:
    """Logs method, path, status, duration and user of every request on `backstock.request`.

    Unhandled exceptions are turned into 500 responses further in, where Django logs them with
    their traceback on `django.request`; this record then carries the 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        status = response.status_code
        level = (
            logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        )
        request_logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": _user_id(request),
            },
        )
        return response


def session_refresh_interval() -> int:
    """Seconds between two pushes of a session's expiry: a tenth of its lifetime, at most five
    minutes, so an idle session ends between 90 % and 100 % of SESSION_COOKIE_AGE after the last
    request."""
    return min(300, settings.SESSION_COOKIE_AGE // 10)


def session_mark_refreshed(session) -> None:
    session[SESSION_REFRESHED_KEY] = int(time.time())


class SessionIdleMiddleware:
    """Keeps an active session alive and lets an idle one expire, SESSION_COOKIE_AGE after the
    last request.

    SESSION_SAVE_EVERY_REQUEST would write the session row on every request; this writes it (and
    re-sends the cookie with a fresh expiry) only when the last refresh is older than
    `session_refresh_interval()`, so most requests cost nothing extra.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        # Without a session cookie there is nothing to keep alive, and checking costs no query.
        # Only signed-in sessions are refreshed: touching a stale anonymous one would create a
        # new session row for nobody. Sign-in stamps the session (see common.apps), so the first
        # request after it does not write again.
        if session is not None and session.session_key and SESSION_KEY in session:
            refreshed = session.get(SESSION_REFRESHED_KEY, 0)
            if time.time() - refreshed >= session_refresh_interval():
                session_mark_refreshed(session)
        return self.get_response(request)
