"""A small run of the load test (bench/load.py): gunicorn on PostgreSQL and a few simulated staff
for a few seconds, against the demo data in a throwaway database of its own (the app server is a
separate process and cannot see pytest's uncommitted test database).

The full-size run (50 users for 60 s) is part of `make bench`; this one proves the harness works
and that mixed concurrent traffic leaves no server error and a clean check_stock.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from bench.load import manage, run_load, server_environment

pytestmark = pytest.mark.postgres


def _server_url(database: str) -> str:
    settings = connection.settings_dict
    credentials = quote(settings["USER"] or "postgres", safe="")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{settings['PORT'] or 5432}/{database}"


@pytest.fixture
def seeded_database(db):
    """A new database with the demo data at its normal size, dropped afterwards. CREATE and DROP
    DATABASE are sent through pytest's test database, which exists by then."""
    name = f"h_load_{secrets.token_hex(4)}"
    admin_url = _server_url(connection.settings_dict["NAME"])
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _server_url(name)
    try:
        env = server_environment(url)
        for command in (("migrate", "--no-input"), ("seed_demo", "--bulk")):
            done = manage(*command, env=env)
            assert done.returncode == 0, done.stderr[-3000:]
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_mixed_staff_traffic_leaves_no_server_error_and_clean_stock(seeded_database):
    result = run_load(database_url=seeded_database, users=5, seconds=10, workers=2)

    assert result.requests > 0
    assert result.server_errors == 0, result.server_errors_by_page
    assert result.failures == 0, result.failures_text
    for kind in ("browse", "order", "receive", "release"):
        assert result.succeeded(kind) > 0, (kind, result.actions)
    assert result.check_stock_clean, result.check_stock_output
    assert not result.server_tracebacks
