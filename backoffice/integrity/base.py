"""What a discrepancy is, and the helpers every check uses to name its subject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from common.numbers import document_number


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not add up: which check found it, on what, expected versus found."""

    check: str
    subject: str  # "WIDGET-1 @ LON", "SO-000012 WIDGET-1 (line 31)", "PO-000003 WIDGET-1", ...
    expected: str
    found: str

    def __str__(self) -> str:
        return f"{self.subject}: expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[], list[Discrepancy]]


def count_words(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def level_subject(row: dict) -> str:
    return f"{row['product__sku']} @ {row['warehouse__code']}"


def line_subject(row: dict) -> str:
    return f"{document_number('SO', row['order_id'])} {row['product__sku']} (line {row['pk']})"


LEVEL_FIELDS = ("pk", "product__sku", "warehouse__code", "on_hand", "allocated")
