"""What every part of the benchmark shares: sizes, the benchmark database and Django set-up.

The benchmark runs in a database of its own, never in the one `DATABASE_URL` names: by default
the same server with the database name `backstock_bench`, or `BENCH_DATABASE_URL` when set.
Whether it is already seeded, and at which size, is kept in the database's comment, so a second
run reuses the data and a change of size (or `BENCH_RESEED=1`) starts again from an empty database.
"""

from __future__ import annotations

import os
import resource
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_BENCH_DB = "backstock_bench"
# Bump when the seeded data changes shape, so old benchmark databases are seeded again.
SEED_VERSION = 1
MARKER_PREFIX = "backstock-bench"


class BenchError(Exception):
    """A problem the person running the benchmark must fix; printed without a traceback."""


@dataclass(frozen=True)
class Size:
    name: str
    scale: float
    # Timed requests per page after the discarded warm-up request.
    repeats: int


SIZES = {
    "L": Size("L", 1.0, 20),
    "S": Size("S", 0.01, 20),
    # Only for the smoke test: small enough to seed and measure in seconds.
    "XS": Size("XS", 0.002, 3),
}


def size_get(name: str) -> Size:
    try:
        return SIZES[name.strip().upper()]
    except KeyError:
        raise BenchError(
            f"Unknown benchmark size {name!r}; choose one of {', '.join(SIZES)}."
        ) from None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "postgis"}


def bench_database_url(size: Size, environ: dict | None = None) -> str:
    """The benchmark's own database: BENCH_DATABASE_URL, else DATABASE_URL's server with the
    database name backstock_bench. Refuses anything but PostgreSQL (seeding uses COPY)."""
    env = os.environ if environ is None else environ
    explicit = env.get("BENCH_DATABASE_URL", "").strip()
    base = explicit or env.get("DATABASE_URL", "").strip()
    if not base or not is_postgres(base):
        what = base.split(":", 1)[0] if base else "SQLite (DATABASE_URL is not set)"
        raise BenchError(
            f"The size {size.name} benchmark needs PostgreSQL, but the database is {what}. "
            "Set DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench"
        )
    if explicit:
        return explicit
    return with_database(base, DEFAULT_BENCH_DB)


def libpq_conninfo(url: str) -> str:
    """A Django-style URL as a libpq connection string (psycopg understands postgres:// URLs;
    the other scheme names Django accepts are mapped to it)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def _admin_connect(url: str):
    """A short-lived autocommit connection for CREATE/DROP DATABASE: to the server's maintenance
    database, never to the benchmark database itself."""
    import psycopg

    return psycopg.connect(libpq_conninfo(with_database(url, "postgres")), autocommit=True)


def database_exists(url: str) -> bool:
    with _admin_connect(url) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]
        ).fetchone()
    return row is not None


def database_create(url: str) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name(url))))


def database_drop(url: str) -> None:
    from psycopg import sql

    with _admin_connect(url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database_name(url))
            )
        )


def seed_marker(size: Size) -> str:
    return f"{MARKER_PREFIX} v{SEED_VERSION} size={size.name}"


def marker_read(url: str) -> str:
    import psycopg

    with psycopg.connect(libpq_conninfo(url)) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        ).fetchone()
    return (row[0] or "") if row else ""


def marker_write(url: str, text: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database_name(url)), sql.Literal(text)
            )
        )


def django_setup(url: str) -> None:
    """Point Django at the benchmark database, with production settings (debug off)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # The benchmark process is not a deployment; it needs some key to load production settings.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + secrets.token_hex(16))
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scenario_result(title: str, rows: list[dict], notes: list[str] | None = None) -> dict:
    """The shape every section of the report takes (also what the scenario modules return)."""
    return {"title": title, "rows": rows, "notes": list(notes or [])}


def row(metric: str, value: str, target: str = "", met: bool | None = None) -> dict:
    return {"metric": metric, "value": value, "target": target, "met": met}
