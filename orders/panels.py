"""What the orders app adds to inventory's pages (see common.slots): a product's backorder queue
with each waiting line's ETA, and its allocations in the product's history."""

from common.slots import Panel
from inventory.slots import product_history_parts, product_page_panels

from .audit import product_allocation_rows
from .selectors import backorder_lines, line_etas


@product_page_panels.register(position=10)
def product_queue_panel(*, product, request) -> Panel:
    """The waiting lines of the product per warehouse, in release order, with their ETAs."""
    waiting = list(backorder_lines(product_id=product.pk))
    etas = line_etas(lines=waiting)
    queues: dict[int, dict] = {}
    for line in waiting:
        warehouse = line.order.warehouse
        queue = queues.setdefault(warehouse.pk, {"warehouse": warehouse, "lines": []})
        queue["lines"].append({"line": line, "eta": etas.get(line.pk)})
    return Panel(template="orders/_product_queue.html", context={"queues": list(queues.values())})


@product_history_parts.register(position=10)
def product_allocation_history(*, product_id: int) -> list:
    return [product_allocation_rows(product_id=product_id)]
