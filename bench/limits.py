"""Why a target may be missed: the known limits, written where the report can quote them.

`report.py` adds the reason to a page or metric in "Targets not met" only when the run actually
missed it, so a limit that is fixed simply stops being quoted. Keys are page keys from
`pages.pages_for`, or a metric's text as a scenario section writes it."""

WHY_NOT_MET: dict[str, str] = {
    "reorder": (
        "the page no longer reads order or purchase order lines (the levels' stored backordered "
        "and on-order counters), its KPIs take the stockouts and the backorder's value from the "
        "screen's own pass, and its rows are written by the table in Python rather than cell by "
        "cell in the template; what remains is the screen itself (see its plan below). To count "
        "the whole list and each supplier group exactly, it works out the reorder point of every "
        "level with demand in the window or customers waiting, about 60,000 at size L: summing "
        "their 75,000 stored daily demand rows, joining them to the 300,000 levels and to each "
        "product's preferred term (100,000), then the formulas, cost PostgreSQL about 300 ms of "
        "CPU on this machine whatever the query's shape. Reaching 200 ms needs those inputs "
        "stored per level and kept by the services, so the screen reads one row per level: the "
        "demand window's Σx and Σx² (kept by placement and cancellation, rolled forward each "
        "day), and the chosen term's lead time, pack and cost (kept by the supplier services). "
        "The backordered-units history finds cancelled lines by reading every order line; a "
        "partial index on the lines with cancelled units would serve it."
    ),
    "reorder_csv": (
        "the export computes every suggested row with its working (tens of thousands at size L) "
        "after the same screen as the dashboard, in one streamed query whatever the number of "
        "rows; its time grows with the suggestions, as any export of every row must."
    ),
    "stock_csv": (
        "the export writes every one of the 300,000 levels through a server-side cursor, a few "
        "hundred rows per piece of the response, with flat memory (see CSV export memory); its "
        "time is proportional to the rows exported."
    ),
}
