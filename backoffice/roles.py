"""The two staff roles and the exact permissions each one has.

Groups are (re)built after every migrate, so a fresh database, a test database and a database
restored from an old dump all end up with the same roles. Admins are superusers and need no group.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, transaction

STAFF_GROUP = "Warehouse staff"
MANAGER_GROUP = "Managers"

# The apps whose permissions the roles refer to; all must be migrated before groups can be built.
ROLE_APP_LABELS = ("inventory", "suppliers", "orders")

DOMAIN_MODELS = {
    "inventory": ("product", "warehouse", "stocklevel", "stockmovement", "safetystockchange"),
    "suppliers": (
        "supplier",
        "supplierproduct",
        "purchaseorder",
        "purchaseorderline",
        "shipment",
        "shipmentline",
    ),
    "orders": ("customer", "salesorder", "orderline", "allocation", "release"),
}

VIEW_EVERYTHING = frozenset(
    f"{app_label}.view_{model}" for app_label, models in DOMAIN_MODELS.items() for model in models
)

WAREHOUSE_STAFF_PERMISSIONS = VIEW_EVERYTHING | {
    "orders.add_customer",
    "orders.add_salesorder",
    "orders.ship_salesorder",
    "orders.cancel_salesorder",
    "orders.add_release",  # release arrived or freed stock to waiting order lines
    "suppliers.add_shipment",  # receive a delivery against a purchase order
    "inventory.adjust_stock",
    "inventory.transfer_stock",
    "inventory.set_safety_stock",
}

MANAGER_PERMISSIONS = WAREHOUSE_STAFF_PERMISSIONS | {
    "inventory.view_reorder_dashboard",
    "inventory.view_audit",  # the history pages of products, orders and purchase orders
    "inventory.add_product",
    "inventory.change_product",
    "suppliers.add_supplier",
    "suppliers.change_supplier",
    "suppliers.add_supplierproduct",
    "suppliers.change_supplierproduct",
    "suppliers.add_purchaseorder",
    "suppliers.change_purchaseorder",
    "suppliers.send_purchaseorder",
    "suppliers.cancel_purchaseorder",
}

ROLE_PERMISSIONS = {
    STAFF_GROUP: WAREHOUSE_STAFF_PERMISSIONS,
    MANAGER_GROUP: MANAGER_PERMISSIONS,
}


def roles_ensure(*, using: str = DEFAULT_DB_ALIAS, apps=global_apps) -> dict:
    """Create the role groups if missing and give each exactly its listed permissions."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")

    wanted = set().union(*ROLE_PERMISSIONS.values())
    found = {}
    candidates = permission_model.objects.using(using).filter(
        content_type__app_label__in=ROLE_APP_LABELS,
        codename__in={name.split(".", 1)[1] for name in wanted},
    )
    for permission_id, app_label, codename in candidates.values_list(
        "pk", "content_type__app_label", "codename"
    ):
        found.setdefault(f"{app_label}.{codename}", []).append(permission_id)

    # A silently smaller role would only show up as a 403 in production, so refuse loudly.
    missing = sorted(wanted - found.keys())
    if missing:
        raise ImproperlyConfigured(f"Role permissions do not exist: {', '.join(missing)}")
    ambiguous = sorted(name for name, ids in found.items() if len(ids) > 1)
    if ambiguous:
        raise ImproperlyConfigured(f"Role permissions are ambiguous: {', '.join(ambiguous)}")

    groups = {}
    with transaction.atomic(using=using):
        for group_name, permission_names in ROLE_PERMISSIONS.items():
            group, _ = group_model.objects.using(using).get_or_create(name=group_name)
            group.permissions.set([found[name][0] for name in permission_names])
            groups[group_name] = group
    return groups


def roles_after_migrate(
    sender, *, using: str = DEFAULT_DB_ALIAS, apps=global_apps, verbosity: int = 1, **kwargs
) -> None:
    """post_migrate receiver: rebuild the role groups once every app they refer to is migrated."""
    try:
        apps.get_model("auth", "Group")
        apps.get_model("auth", "Permission")
        for label in ROLE_APP_LABELS:
            apps.get_app_config(label)
    except LookupError:
        # A partial migrate (e.g. `migrate inventory` on an empty database); the full one will
        # come back here with everything in place.
        return

    # post_migrate runs app by app in INSTALLED_APPS order, so the permissions of apps after
    # this one may not have been created yet. create_permissions is idempotent.
    for label in ROLE_APP_LABELS:
        create_permissions(global_apps.get_app_config(label), verbosity=0, using=using, apps=apps)
    roles_ensure(using=using, apps=apps)
    if verbosity >= 2:
        print(f"  Roles updated: {', '.join(ROLE_PERMISSIONS)}")
