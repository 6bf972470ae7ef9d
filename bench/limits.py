"""Why a target may be missed: the known limits, written where the report can quote them.

`report.py` adds the reason to a page or metric in "Targets not met" only when the run actually
missed it, so a limit that is fixed simply stops being quoted. Keys are page keys from
`pages.pages_for`, or a metric's text as a scenario section writes it."""

WHY_NOT_MET: dict[str, str] = {
    "reorder": (
        "the dashboard's 14 queries are constant, but three of them still read the whole "
        "catalogue rather than the page. The screen joins all 300,000 levels to their backorders "
        "and to each product's chosen supply term (ranked among 150,000 terms) and computes the "
        "suggested rows' totals; the KPIs look up the unit cost of each of the 35,000 products "
        "customers wait for; the backorder history reads every cancelled line and the releases. "
        "Daily demand is already stored (orders.DailyDemand, kept by placement and "
        "cancellation, checked by check_stock), PostgreSQL's JIT is off for the app's "
        "connections, and the waiting lines are read through the waiting orders' index; "
        "together they took the page from over 5 s to the time above. Reaching 200 ms needs "
        "more stored inputs so the screen reads one row per level: each product's chosen term "
        "(kept by the supplier services), each level's backordered units (kept by placement, "
        "cancellation and release) and indexes on release and cancellation times. See "
        "docs/architecture.md, Reorder calculations."
    ),
    "reorder_csv": (
        "the export computes every suggested row with its working (tens of thousands at size L) "
        "after the same screen as the dashboard; it streams 2,000 rows at a time, so its memory "
        "stays flat (see CSV export memory), but its time grows with the suggestions, as any "
        "export of every row must, and so do its queries: the screen's, then a few per 2,000 "
        "rows, which read those rows' inputs (levels, demand, terms, lead times, purchase "
        "order lines) chunk by chunk."
    ),
    "stock_csv": (
        "the export writes every one of the 300,000 levels; it streams them through a "
        "server-side cursor 2,000 at a time with flat memory (see CSV export memory). Its time "
        "is proportional to the rows exported; a page's 200 ms target cannot apply to a file of "
        "the whole table."
    ),
}
