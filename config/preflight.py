"""`python -m config.preflight`: what `make serve` checks before touching the database.

Production runs on PostgreSQL with debug off. SQLite is refused rather than tolerated: its
`select_for_update` is a no-op, so the row locks that keep concurrent releases and receipts from
overselling (DESIGN rule 7) would rest on SQLite's single writer lock, with several app
processes waiting on one file. It is the demo's database (`make run`), not a server's.
"""

import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common.checks import MISSING_KEY_MESSAGE, secret_key_missing


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        # Settings load lazily, here: a missing or bad setting is reported, not raised.
        engine = settings.DATABASES["default"]["ENGINE"]
        debug = settings.DEBUG
        if not debug and secret_key_missing():
            raise ImproperlyConfigured(MISSING_KEY_MESSAGE)
    except ImproperlyConfigured as error:
        print(f"make serve: {error}", file=sys.stderr)
        return 1
    if debug:
        print("make serve: DJANGO_DEBUG must be off in production.", file=sys.stderr)
        return 1
    if engine != "django.db.backends.postgresql":
        print(
            "make serve: production runs on PostgreSQL, but DATABASE_URL points at "
            f"{engine.rsplit('.', 1)[-1]}. Set DATABASE_URL=postgres://user:password@host:5432/"
            "backstock (SQLite is for the demo: make run).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
