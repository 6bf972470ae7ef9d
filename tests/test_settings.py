"""config/settings.py loaded the way a server loads it: in a fresh interpreter, with only the
environment we give it. A copy of config/ is used so a developer's .env cannot leak in."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

PRINT_SETTINGS = (
    "import config.settings as s; "
    "print(s.DEBUG, s.SECRET_KEY, s.DATABASES['default']['ENGINE'], sep='|')"
)


@pytest.fixture
def load_settings(tmp_path):
    shutil.copytree(CONFIG_DIR, tmp_path / "config", ignore=shutil.ignore_patterns("__pycache__"))

    def load(code: str = PRINT_SETTINGS, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return load


USE_SECRET_KEY = (
    "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
    "from django.conf import settings; print(settings.SECRET_KEY)"
)


@pytest.mark.parametrize("debug", [None, "0", "false", "off"])
def test_without_secret_key_in_production_django_refuses_to_use_one(load_settings, debug):
    """The settings load (so commands that sign nothing, like makemigrations, run), but nothing
    can sign with an empty key: Django refuses to hand it out."""
    env = {} if debug is None else {"DJANGO_DEBUG": debug}

    result = load_settings(code=USE_SECRET_KEY, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "The SECRET_KEY setting must not be empty" in result.stderr


def test_deploy_check_names_a_missing_secret_key(monkeypatch, settings):
    from common import checks

    settings.DEBUG = False
    monkeypatch.setattr(checks, "secret_key_missing", lambda: True)
    found = [error.id for error in checks.secret_key_check(None)]
    monkeypatch.setattr(checks, "secret_key_missing", lambda: False)
    given = checks.secret_key_check(None)

    assert found == ["backstock.E001"]
    assert given == []


def test_makemigrations_check_runs_without_production_secrets():
    """CI and developers check migrations with no environment at all."""
    done = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=CONFIG_DIR.parent,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes detected" in done.stdout


def test_settings_load_with_debug_on_and_no_secret_key(load_settings):
    result = load_settings(DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    debug, secret_key, engine = result.stdout.strip().split("|")
    assert debug == "True"
    assert secret_key
    assert engine == "django.db.backends.sqlite3"


def test_settings_use_the_given_secret_key_and_database_in_production(load_settings):
    result = load_settings(
        DJANGO_SECRET_KEY="a-real-secret-from-the-environment",
        DATABASE_URL="postgres://backstock@db.internal:5432/backstock",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "False",
        "a-real-secret-from-the-environment",
        "django.db.backends.postgresql",
    ]


@pytest.mark.parametrize(
    ("jit", "expected"), [(None, "-c jit=off"), ("1", None), ("0", "-c jit=off")]
)
def test_postgresql_connections_turn_jit_off_unless_asked(load_settings, jit, expected):
    env = {"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://u@db.example.com:5432/backstock"}
    if jit is not None:
        env["BACKSTOCK_POSTGRES_JIT"] = jit

    done = load_settings(
        code="import config.settings as s; "
        "print(s.DATABASES['default'].get('OPTIONS', {}).get('options'))",
        **env,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(expected)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_live_postgresql_connection_has_jit_off():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
