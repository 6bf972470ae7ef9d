"""Tables of the planning pages: the reorder suggestions on screen (`suggestions`) and as CSV
(`csv`)."""

from planning.tables.export import CSV_HEADER, csv_rows, csv_text
from planning.tables.suggestions import ReorderSuggestionTable

__all__ = ["CSV_HEADER", "ReorderSuggestionTable", "csv_rows", "csv_text"]
