"""Serving in production: the health check, structured logs and the static files build."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

from backoffice.views import HomeView
from common.logs import JsonFormatter

BASE_DIR = Path(__file__).resolve().parent.parent


def explode(request):
    raise RuntimeError("the shelf collapsed")


# A URLconf with one view that fails, for the error-logging test (@pytest.mark.urls).
urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("explode/", explode),
]


# --- /healthz ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_sign_in_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client):
    broken = mock.MagicMock()
    broken.__enter__.return_value.execute.side_effect = OperationalError("connection refused")
    with mock.patch("common.health.connection.cursor", return_value=broken):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


@pytest.mark.django_db
def test_healthz_answers_503_when_connecting_fails(client):
    with mock.patch(
        "common.health.connection.cursor", side_effect=OperationalError("could not connect")
    ):
        response = client.get("/healthz")

    assert response.status_code == 503


@pytest.mark.django_db
def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405


# --- Logs ----------------------------------------------------------------------------------------


@pytest.fixture
def log_lines():
    """What the configured root handler writes during the test, one parsed JSON object a line."""
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    assert isinstance(handler.formatter, JsonFormatter)  # debug is off in the suite
    buffer = io.StringIO()
    previous = handler.setStream(buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    handler.setStream(previous)


@pytest.mark.django_db
def test_a_request_writes_one_json_record_with_method_path_status_duration_and_user(
    client, staff_user, log_lines
):
    client.force_login(staff_user)

    response = client.get("/?x=1")

    assert response.status_code == 200
    records = [r for r in log_lines() if r["logger"] == "backstock.request"]
    assert len(records) == 1
    record = records[0]
    assert record["method"] == "GET"
    assert record["path"] == "/"
    assert record["status"] == 200
    assert record["user_id"] == staff_user.pk
    assert isinstance(record["duration_ms"], float)
    assert record["duration_ms"] >= 0
    assert record["level"] == "INFO"


@pytest.mark.django_db
def test_an_anonymous_request_is_logged_without_a_user(client, log_lines):
    client.get("/healthz")

    (record,) = [r for r in log_lines() if r["logger"] == "backstock.request"]
    assert record["path"] == "/healthz"
    assert record["user_id"] is None


@pytest.mark.django_db
@pytest.mark.urls("tests.test_serving")
def test_an_unhandled_error_is_logged_with_its_traceback(log_lines):
    client = Client(raise_request_exception=False)

    response = client.get("/explode/")

    assert response.status_code == 500
    records = log_lines()
    (error,) = [r for r in records if r["logger"] == "django.request"]
    assert error["level"] == "ERROR"
    assert error["status_code"] == 500
    assert "RuntimeError: the shelf collapsed" in error["exception"]
    assert "Traceback" in error["exception"]
    (request,) = [r for r in records if r["logger"] == "backstock.request"]
    assert request["status"] == 500
    assert request["level"] == "ERROR"


def test_json_formatter_keeps_plain_extras_and_drops_objects():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.order_id = 7
    record.request = object()

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "hello world"
    assert entry["order_id"] == 7
    assert "request" not in entry
    assert entry["level"] == "WARNING"


# --- Static files --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_static_files_are_served_to_anonymous_visitors(client):
    response = client.get("/static/css/backstock.css")

    assert response.status_code == 200
    assert b".htmx-indicator" in b"".join(response.streaming_content)


def test_collectstatic_writes_hashed_and_compressed_files(tmp_path):
    """The production build: the real settings (manifest storage), in a fresh interpreter."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": "collectstatic-test-key",
        "DJANGO_STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/backstock.css"]
    assert hashed != "css/backstock.css"
    assert hashed.startswith("css/backstock.")
    assert hashed.endswith(".css")
    assert (tmp_path / hashed).exists()
    assert (tmp_path / f"{hashed}.gz").exists()
    assert "admin/css/base.css" in manifest


# --- make serve's preflight ----------------------------------------------------------------------


def _preflight(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "config.preflight"],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serving_refuses_sqlite_with_a_clear_message(tmp_path):
    result = _preflight(
        DJANGO_SECRET_KEY="preflight-test-key", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}"
    )

    assert result.returncode == 1
    assert "production runs on PostgreSQL" in result.stderr
    assert "sqlite3" in result.stderr


def test_serving_refuses_debug_mode():
    result = _preflight(
        DJANGO_DEBUG="1", DATABASE_URL="postgres://backstock@db.internal:5432/backstock"
    )

    assert result.returncode == 1
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_serving_accepts_postgresql_with_debug_off():
    result = _preflight(
        DJANGO_SECRET_KEY="preflight-test-key",
        DATABASE_URL="postgres://backstock@db.internal:5432/backstock",
    )

    assert result.returncode == 0, result.stderr


def test_serving_refuses_to_start_without_a_secret_key():
    result = _preflight(DATABASE_URL="postgres://backstock@db.internal:5432/backstock")

    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr
