"""What keeps the stored plan current: receivers of the lower apps' signals, connected in
`PlanningConfig.ready()`. Each refreshes the plan rows the change can move, in the sender's
transaction (see `planning.plan` for what each kind of refresh writes)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from inventory.models import Product, Warehouse
from inventory.signals import level_settings_changed
from orders.signals import demand_changed
from planning.plan import plan_invalidate, plan_refresh
from suppliers.models import Supplier, SupplierProduct
from suppliers.signals import supply_changed


def on_demand_changed(sender, *, warehouse_id=None, product_ids=None, **kwargs) -> None:
    """Orders placed or cancelled (levels locked by the order service), or demand rebuilt."""
    if product_ids is None:
        plan_invalidate()
    else:
        plan_refresh(product_ids=product_ids, warehouse_id=warehouse_id, levels_locked=True)


def on_level_settings_changed(sender, *, level_ids, **kwargs) -> None:
    """A manual reorder point set or cleared: the level may start or stop needing a row."""
    plan_refresh(level_ids=level_ids, levels_locked=True)


def on_supply_changed(sender, *, product_ids=None, supplier_ids=None, **kwargs) -> None:
    """Terms imported in bulk."""
    if product_ids:
        plan_refresh(product_ids=product_ids)
    if supplier_ids:
        plan_refresh(supplier_ids=supplier_ids)


def on_term_saved(sender, instance: SupplierProduct, raw=False, **kwargs) -> None:
    """A term added, edited or removed (the admin, a service's save): its product's choice."""
    if not raw:
        plan_refresh(product_ids=[instance.product_id])


def on_supplier_saved(sender, instance: Supplier, raw=False, created=False, **kwargs) -> None:
    """A supplier switched on or off changes which term its products are bought on."""
    if not raw and not created:
        plan_refresh(supplier_ids=[instance.pk])


def on_product_saved(sender, instance: Product, raw=False, created=False, **kwargs) -> None:
    """A product switched on or off."""
    if not raw and not created:
        plan_refresh(product_ids=[instance.pk])


def on_warehouse_saved(sender, instance: Warehouse, raw=False, created=False, **kwargs) -> None:
    """A warehouse switched on or off."""
    if not raw and not created:
        plan_refresh(warehouse_id=instance.pk)


def connect() -> None:
    demand_changed.connect(on_demand_changed, dispatch_uid="planning.demand")
    level_settings_changed.connect(on_level_settings_changed, dispatch_uid="planning.levels")
    supply_changed.connect(on_supply_changed, dispatch_uid="planning.supply")
    for signal in (post_save, post_delete):
        signal.connect(
            on_term_saved, sender=SupplierProduct, dispatch_uid=f"planning.term.{signal}"
        )
    post_save.connect(on_supplier_saved, sender=Supplier, dispatch_uid="planning.supplier")
    post_save.connect(on_product_saved, sender=Product, dispatch_uid="planning.product")
    post_save.connect(on_warehouse_saved, sender=Warehouse, dispatch_uid="planning.warehouse")
