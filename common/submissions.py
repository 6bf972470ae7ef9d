"""Create forms that create once however often they are sent.

A create form carries a token; the service creating the object claims the token as a
`Submission` key first thing in its write transaction and records what it created before the
transaction ends. A session cannot decide this: concurrent copies of one post each read the
session before any of them writes it. The unique key can: on PostgreSQL a second INSERT of a key
another open transaction has inserted waits for that transaction, then conflicts if it committed
(and goes ahead if it rolled back), so the copies queue on the index and all but the first find
the first one's row."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from common.cleaning import acting_user
from common.models import Submission

KEY_MAX_LENGTH = Submission._meta.get_field("key").max_length


class SubmissionDone(Exception):
    """The submission's key was already used by the same user for the same kind of object, which
    committed: `object_id` is what that first submission created."""

    def __init__(self, *, kind: str, object_id: int):
        super().__init__(f"{kind} {object_id} was already created by this submission")
        self.kind = kind
        self.object_id = object_id


@dataclass(frozen=True)
class SubmissionClaim:
    pk: int


def _insert(*, key: str, kind: str, user_id: int | None) -> int | None:
    """Insert the key unless it exists; the new row's id, or None when the key was taken."""
    meta = Submission._meta
    names = ["key", "kind", "created_by", "created_at"]
    values = [key, kind, user_id, timezone.now()]
    fields = [meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values, strict=True)
    ]
    holes = ", ".join(["%s"] * len(fields))
    key_column = quote(meta.get_field("key").column)
    # DO NOTHING rather than a savepoint around a plain INSERT: one statement, and the conflict
    # leaves the caller's transaction usable for reading the winner's row.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({holes}) "  # noqa: S608
        f"ON CONFLICT ({key_column}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def submission_claim(*, key, kind: str, by) -> SubmissionClaim:
    """Claim a form's submission key inside the caller's write transaction.

    Raises SubmissionDone when the same user already created a `kind` with this key, and a
    ValidationError for a key that is not a token or belongs to another user or another form,
    without saying what that one created."""
    if not connection.in_atomic_block:
        raise RuntimeError("submission_claim runs inside the creating write transaction")
    if not isinstance(key, str) or not key or len(key) > KEY_MAX_LENGTH or not key.isprintable():
        raise ValidationError(
            "This form was incomplete; check it and submit it again.", code="bad_submission_key"
        )
    user = acting_user(by)
    user_id = user.pk if user is not None else None
    claimed = _insert(key=key, kind=kind, user_id=user_id)
    if claimed is not None:
        return SubmissionClaim(pk=claimed)
    first = Submission.objects.filter(key=key).values("kind", "object_id", "created_by_id").first()
    if (
        first is None
        or first["object_id"] is None
        or first["kind"] != kind
        or user_id is None
        or first["created_by_id"] != user_id
    ):
        raise ValidationError(
            "This form was already used; reload the page and submit it again.",
            code="submission_used",
        )
    raise SubmissionDone(kind=kind, object_id=first["object_id"])


def submission_record(*, claim: SubmissionClaim, object_id: int) -> None:
    """Name what the claimed submission created, before its transaction commits."""
    Submission.objects.filter(pk=claim.pk).update(object_id=object_id)
