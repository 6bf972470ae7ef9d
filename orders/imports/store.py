"""Keeping the parsed rows of an order import on the server between the preview and the
confirmation, under a random token; only the first of two confirmations may claim them."""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings

KEEP_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")


def _import_dir() -> Path:
    base = getattr(settings, "BACKSTOCK_IMPORT_DIR", None) or tempfile.gettempdir()
    path = Path(base) / "backstock-order-imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(token: str, suffix: str = ".json") -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return _import_dir() / f"{token}{suffix}"


def _prune(directory: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in directory.glob("*.json*"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:
            pass


def import_save(*, rows: list[dict], filename: str, user_id: int) -> str:
    """Store parsed rows under a fresh random token; returns the token."""
    directory = _import_dir()
    _prune(directory)
    token = secrets.token_urlsafe(24)
    payload = {"user": user_id, "filename": filename[:200], "rows": rows}
    path = directory / f"{token}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return token


def _read(path: Path, user_id: int) -> dict | None:
    try:
        with path.open(encoding="utf-8") as handle:
            payload = json.load(handle)
    except (FileNotFoundError, ValueError):
        return None
    return payload if payload.get("user") == user_id else None


def import_load(*, token: str, user_id: int) -> dict | None:
    """The stored upload of this user, or None when unknown, expired or already imported."""
    path = _path(token)
    return _read(path, user_id) if path else None


def import_claim(*, token: str, user_id: int) -> dict | None:
    """Take the stored upload for importing; only the first of two simultaneous confirmations
    gets it (the rename is atomic), so a double-submitted confirm imports once."""
    path = _path(token)
    claimed = _path(token, ".json.claimed")
    if path is None or _read(path, user_id) is None:
        return None
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return None
    payload = _read(claimed, user_id)
    claimed.unlink(missing_ok=True)
    return payload


def import_discard(*, token: str) -> None:
    path = _path(token)
    if path:
        path.unlink(missing_ok=True)
