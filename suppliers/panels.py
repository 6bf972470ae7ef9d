"""What the suppliers app adds to inventory's pages (see common.slots): a product's supply terms."""

from common.slots import Panel
from inventory.slots import product_page_panels

from .models import SupplierProduct


@product_page_panels.register(position=20)
def product_terms_panel(*, product, request) -> Panel:
    """The product's terms from each supplier, the preferred one first."""
    terms = (
        SupplierProduct.objects.filter(product=product)
        .select_related("supplier")
        .order_by("-is_preferred", "supplier__name")
    )
    return Panel(template="suppliers/_product_terms.html", context={"terms": terms})
