"""Why a target may be missed: the known limits, written where the report can quote them.

`report.py` adds the reason to a page or metric in "Targets not met" only when the run actually
missed it, so a limit that is fixed simply stops being quoted. Keys are page keys from
`pages.pages_for`, or a metric's text as a scenario section writes it."""

WHY_NOT_MET: dict[str, str] = {
    "reorder": (
        "the screen reads the stored plan alone (about 65,000 narrow rows at size L: one "
        "parallel pass counts the list, its supplier groups and the catalogue's stockouts, then "
        "the page's rows come from the few groups it overlaps), about 85 ms; the rest is the "
        "KPIs' aggregate over the 50,000 waiting lines (about 35 ms), the backorder history "
        "(about 30 ms), and writing a hundred rows with their working in Python (about 60 ms). "
        "Listing every level below its set safety stock or with customers waiting made the list "
        "about 51,000 rows (from 33,000). Reaching 200 ms with a margin needs the waiting lines' "
        "aging kept per order and the working written only when a row is opened."
    ),
    "reorder_csv": (
        "the export computes every suggested row with its working (about 51,000 at size L, since "
        "every level below its set safety stock or with customers waiting is listed) after the "
        "same screen as the dashboard, in one streamed query whatever the number of rows; its "
        "time grows with the suggestions (about 67 µs a row), as any export of every row must."
    ),
    "stock_csv": (
        "the export writes every one of the 300,000 levels through a server-side cursor, a few "
        "hundred rows per piece of the response, with flat memory (see CSV export memory); its "
        "time is proportional to the rows exported."
    ),
}
