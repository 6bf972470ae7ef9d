"""The database going away while requests come in: every request that needed it gets the 503
"nothing was saved" page with Retry-After, whether the session, authentication, django-axes, the
view or the session's save on the way out was the first to find out, never the generic 500 page.

The first part breaks one layer at a time in-process (every database). The second runs gunicorn
with production settings against PostgreSQL through a relay this test controls, and cuts the
database away at each successive message the app sends during a request (PostgreSQL only).
"""

import contextlib
import http.client
import socket
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse

from bench.load import free_port, server_environment, stop, wait_healthy
from common.database_errors import database_unreachable
from common.middleware import SESSION_REFRESHED_KEY
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


def assert_503_page(status: int, headers: dict[str, str], text: str) -> None:
    assert status == 503, text[:500]
    assert int(headers["retry-after"]) > 0
    assert "Nothing was saved" in text
    assert "Something went wrong" not in text


def assert_503_response(response) -> None:
    headers = {name.lower(): value for name, value in response.headers.items()}
    assert_503_page(response.status_code, headers, response.content.decode())


def lost_connection(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def closed_connection(*args, **kwargs):
    raise InterfaceError("connection already closed")


@pytest.fixture
def signed_in(staff_client):
    # A real server answers with a page; the test client would re-raise the exception instead.
    staff_client.raise_request_exception = False
    return staff_client


# --- one layer at a time (every database) --------------------------------------------------------


def test_session_that_cannot_be_loaded_gets_503(signed_in, monkeypatch):
    # SessionIdleMiddleware reads the session before any view runs.
    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore._get_session_from_db", lost_connection
    )

    assert_503_response(signed_in.get(reverse("home")))


def test_session_that_cannot_be_saved_on_the_way_out_gets_503(signed_in, monkeypatch):
    # A refresh is due, so the session is written after the view: Django reports that failure as
    # SessionInterrupted, a "bad request", raised while handling the database error.
    session = signed_in.session
    session[SESSION_REFRESHED_KEY] = 0
    session.save()
    monkeypatch.setattr("django.contrib.sessions.models.Session.save", lost_connection)

    assert_503_response(signed_in.get(reverse("home")))


def test_user_that_cannot_be_loaded_gets_503(signed_in, monkeypatch):
    monkeypatch.setattr("django.contrib.auth.backends.ModelBackend.get_user", closed_connection)

    assert_503_response(signed_in.get(reverse("home")))


def test_sign_in_that_cannot_reach_the_lockout_records_gets_503(db, monkeypatch):
    UserFactory(username="someone")
    client = Client(raise_request_exception=False)
    monkeypatch.setattr("axes.handlers.database.AxesDatabaseHandler.get_failures", lost_connection)

    response = client.post(
        reverse("login"), {"username": "someone", "password": "correct-horse-battery"}
    )

    assert_503_response(response)


def test_other_errors_in_a_middleware_still_get_the_500_page(signed_in, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(
        "django.contrib.sessions.backends.db.SessionStore._get_session_from_db", broken
    )

    response = signed_in.get(reverse("home"))

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_healthz_asks_to_retry_when_the_database_does_not_answer(client, monkeypatch):
    monkeypatch.setattr("common.health.connection.cursor", lost_connection)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0


def _raised(raise_it) -> BaseException:
    try:
        raise_it()
    except Exception as exception:
        return exception
    raise AssertionError("nothing was raised")


def test_a_database_error_is_found_behind_what_was_raised_while_handling_it():
    def reraised_as_bad_request():
        try:
            lost_connection()
        except OperationalError:
            raise ValueError("session interrupted")  # noqa: B904 - as Django's session save does

    def explicitly_from():
        try:
            lost_connection()
        except OperationalError as error:
            raise RuntimeError("wrapped") from error

    def suppressed():
        try:
            lost_connection()
        except OperationalError:
            raise RuntimeError("unrelated") from None

    assert database_unreachable(_raised(lost_connection))
    assert database_unreachable(_raised(reraised_as_bad_request))
    assert database_unreachable(_raised(explicitly_from))
    assert not database_unreachable(_raised(suppressed))
    assert not database_unreachable(_raised(lambda: 1 / 0))
    assert not database_unreachable(None)


# --- a live server whose database goes away mid-request (PostgreSQL) -----------------------------


class DatabaseRelay:
    """A TCP relay between the app server and PostgreSQL that can take the database away.

    `go_away_at(n)` arms it: the n-th message the app sends from then on is dropped, every open
    connection is cut and new ones are turned away, as during a server restart, until
    `come_back()`.
    """

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.countdown: int | None = None
        self.away = False
        self.went_away = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def go_away_at(self, message: int) -> None:
        with self.lock:
            self.countdown = message
            self.went_away.clear()

    def come_back(self) -> None:
        with self.lock:
            self.countdown = None
            self.away = False

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            self._cut()

    def _cut(self) -> None:
        self.away = True
        self.countdown = None
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()
        self.went_away.set()

    def _accept(self) -> None:
        while True:
            try:
                app, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.away:
                    app.close()
                    continue
                database = socket.create_connection(self.target)
                self.sockets += [app, database]
            threading.Thread(target=self._pump, args=(app, database, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(database, app, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_app: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_app:
                    with self.lock:
                        if self.countdown is not None:
                            self.countdown -= 1
                            if self.countdown == 0:
                                self._cut()
                                return
                sink.sendall(data)
        except OSError:
            return


def database_url_on_port(port: int) -> str:
    settings_dict = connection.settings_dict
    credentials = quote(settings_dict["USER"] or "postgres", safe="")
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    return f"postgres://{credentials}@127.0.0.1:{port}/{settings_dict['NAME']}"


@pytest.fixture
def relay():
    settings_dict = connection.settings_dict
    relay = DatabaseRelay(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))
    yield relay
    relay.close()


@pytest.fixture
def live_server_url(relay, tmp_path):
    """gunicorn with production settings, one worker, its database reached through the relay.
    It is a separate process, so the test's rows must be committed (transaction=True)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    environment = server_environment(database_url_on_port(relay.port))
    # Sessions opened by the test are signed with its key.
    environment["DJANGO_SECRET_KEY"] = settings.SECRET_KEY
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                "--timeout=60",
            ],
            env=environment,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(base_url, server, log_path)
            yield port
        finally:
            stop(server)


def fetch(port: int, method: str, path: str, *, cookies: dict[str, str], form=None):
    """One request, redirects not followed: (status, lower-cased headers, body text)."""
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read().decode(),
        )
    finally:
        conn.close()


def cut_at_every_message(relay: DatabaseRelay, request, done_statuses: set[int]) -> int:
    """Sends the request again and again, the database going away at its 1st, 2nd, 3rd… message
    to the database, until one gets through untouched. Returns how many requests were cut."""
    for message in range(1, 200):
        relay.go_away_at(message)
        status, headers, text = request()
        if not relay.went_away.is_set():
            relay.come_back()
            assert status in done_statuses, (message, headers, text[:500])
            return message - 1
        assert_503_page(status, headers, text)
        # While the database is still away, the next request finds out before any view runs.
        assert_503_page(*request())
        relay.come_back()
    raise AssertionError("the request never got through")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_signed_in_pages_answer_503_whenever_the_database_goes_away(relay, live_server_url):
    user = UserFactory(username="outage-staff")
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}

    def home():
        return fetch(live_server_url, "GET", "/", cookies=cookies)

    cut = cut_at_every_message(relay, home, {200})

    # The health check, the session, the user and the home page's reads are each cut at least.
    assert cut >= 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sign_in_answers_503_whenever_the_database_goes_away(relay, live_server_url):
    user = UserFactory(username="outage-signer")
    # Cheap to check on the server; the server rehashes it only once a sign-in gets through.
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode("correct-horse-battery", hasher.salt(), iterations=1000)
    user.save()
    csrf = "k" * 32
    form = {
        "username": "outage-signer",
        "password": "correct-horse-battery",
        "csrfmiddlewaretoken": csrf,
    }

    def sign_in():
        return fetch(
            live_server_url,
            "POST",
            reverse("login"),
            cookies={settings.CSRF_COOKIE_NAME: csrf},
            form=form,
        )

    cut = cut_at_every_message(relay, sign_in, {302})

    # django-axes' lockout check, the user, its last_login, and the new session at least.
    assert cut >= 4
