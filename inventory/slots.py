"""The places in inventory's pages that the apps above fill (see common.slots)."""

from common.slots import Slot

# Called with product= and request=; each provider answers a common.slots.Panel (or None), shown
# on the product page below its levels and charts.
product_page_panels = Slot("product page panels")

# Called with product_id=; each provider answers a list of common.audit.HistoryPart, merged into
# the product's history page.
product_history_parts = Slot("product history parts")
