"""Product CSV import: read and check an uploaded file, explain every bad row, and keep the upload
on the server between the preview and the confirmation.

The upload itself is what is kept (under a random token), and it is read and checked again when the
user confirms, against the database as it is then. Nothing the browser sends back is trusted except
the token, which must also be one this session uploaded.

`parse` reads the file, `preview` checks its rows, `upload` keeps it between the two requests.
"""

from suppliers.services.product_import import MAX_IMPORT_ROWS

from .parse import (
    CELL_MAX,
    COLUMNS,
    HEADER_ALIASES,
    REQUIRED_COLUMNS,
    TERM_COLUMNS,
    ImportPreview,
    ImportRow,
    read_rows,
)
from .preview import errors_csv_rows, preview_build
from .upload import (
    KEEP_SECONDS,
    SESSION_KEY,
    TOKEN_RE,
    upload_dir,
    upload_discard,
    upload_info,
    upload_keep,
    upload_read,
)

__all__ = [
    "CELL_MAX",
    "COLUMNS",
    "HEADER_ALIASES",
    "KEEP_SECONDS",
    "MAX_IMPORT_ROWS",
    "REQUIRED_COLUMNS",
    "SESSION_KEY",
    "TERM_COLUMNS",
    "TOKEN_RE",
    "ImportPreview",
    "ImportRow",
    "errors_csv_rows",
    "preview_build",
    "read_rows",
    "upload_dir",
    "upload_discard",
    "upload_info",
    "upload_keep",
    "upload_read",
]
