"""Document numbers (SO-000123, PO-000045, SH-…, REL-…), derived from primary keys."""


def document_number(prefix: str, pk: int | None) -> str:
    """Documents are numbered from their primary key, so numbers never collide or need a counter."""
    return f"{prefix}-{pk:06d}" if pk else f"{prefix}-(new)"
