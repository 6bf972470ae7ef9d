"""What the suppliers app adds to inventory's pages (see common.slots): a product's supply terms."""

from common.slots import Panel
from inventory.slots import product_page_panels

from .selectors import product_supply_terms


@product_page_panels.register(position=20)
def product_terms_panel(*, product, request) -> Panel:
    """The product's terms from each supplier, the preferred one first."""
    terms = product_supply_terms(product_id=product.pk)
    return Panel(template="suppliers/_product_terms.html", context={"terms": terms})
