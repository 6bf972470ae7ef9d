"""Customer orders from a CSV file: read the upload, check every row against the database, and
keep the parsed rows on the server between the preview and the confirmation.

The confirmation never trusts anything re-posted by the browser: it loads the rows stored under a
random token at upload time and checks them again against the database as it is then.

`upload` reads the file, `check` checks its rows, `store` keeps them between the two requests.
"""

from .check import PRIORITY_NAMES, ImportCheck, OrderCheck, RowCheck, rows_check
from .store import KEEP_SECONDS, TOKEN_RE, import_claim, import_discard, import_load, import_save
from .upload import ALIASES, COLUMNS, MAX_BYTES, MAX_ROWS, REQUIRED_COLUMNS, upload_read

__all__ = [
    "ALIASES",
    "COLUMNS",
    "KEEP_SECONDS",
    "MAX_BYTES",
    "MAX_ROWS",
    "PRIORITY_NAMES",
    "REQUIRED_COLUMNS",
    "TOKEN_RE",
    "ImportCheck",
    "OrderCheck",
    "RowCheck",
    "import_claim",
    "import_discard",
    "import_load",
    "import_save",
    "rows_check",
    "upload_read",
]
