"""Keeping a product CSV upload on the server between the preview and the confirmation, under a
random token that only the session which uploaded it may use."""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
SESSION_KEY = "product_imports"
KEEP_SECONDS = 24 * 3600


def upload_dir() -> Path:
    """Where uploads wait for confirmation. Set BACKSTOCK_IMPORT_DIR to storage every app process
    shares when running more than one machine."""
    path = Path(
        getattr(settings, "BACKSTOCK_IMPORT_DIR", "")
        or Path(tempfile.gettempdir()) / "backstock-imports"
    )
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str) -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    return upload_dir() / f"{token}.csv"


def upload_keep(session, *, data: bytes, filename: str) -> str:
    """Store an upload for this session and return its token."""
    _prune()
    token = secrets.token_urlsafe(32)
    path = _path(token)
    path.write_bytes(data)
    path.chmod(0o600)
    kept = dict(session.get(SESSION_KEY, {}))
    kept[token] = {"filename": filename[:200], "at": int(time.time())}
    # A session remembers only its last few uploads.
    for stale in list(kept)[:-5]:
        upload_discard(session, token=stale)
        kept.pop(stale, None)
    session[SESSION_KEY] = kept
    return token


def upload_info(session, *, token: str) -> dict | None:
    """The upload's name if this session uploaded it and it is still kept, else None."""
    info = session.get(SESSION_KEY, {}).get(token) if isinstance(token, str) else None
    path = _path(token)
    if info is None or path is None or not path.exists():
        return None
    return info


def upload_read(session, *, token: str) -> bytes | None:
    if upload_info(session, token=token) is None:
        return None
    return _path(token).read_bytes()


def upload_discard(session, *, token: str) -> None:
    path = _path(token)
    if path is not None:
        path.unlink(missing_ok=True)
    kept = dict(session.get(SESSION_KEY, {}))
    if kept.pop(token, None) is not None:
        session[SESSION_KEY] = kept


def _prune() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in upload_dir().glob("*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:  # another process pruned it first
            continue
