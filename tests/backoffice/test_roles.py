import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from backoffice.roles import (
    MANAGER_GROUP,
    MANAGER_PERMISSIONS,
    ROLE_APP_LABELS,
    STAFF_GROUP,
    WAREHOUSE_STAFF_PERMISSIONS,
    roles_ensure,
)
from orders.models import DailyDemand

pytestmark = pytest.mark.django_db


def authenticate_at_sign_in(**credentials):
    """Authenticate as the sign-in page does: sign-in throttling needs the request."""
    return authenticate(RequestFactory().post("/accounts/login/"), **credentials)


def group_permission_names(name: str) -> set[str]:
    permissions = Group.objects.get(name=name).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def test_groups_exist_after_migrate_with_exactly_their_permissions():
    assert group_permission_names(STAFF_GROUP) == WAREHOUSE_STAFF_PERMISSIONS
    assert group_permission_names(MANAGER_GROUP) == MANAGER_PERMISSIONS


def test_staff_can_view_every_domain_model():
    # DailyDemand is derived data the order services keep for the reorder dashboard, not a
    # record anyone looks at.
    models = [
        model
        for label in ROLE_APP_LABELS
        for model in apps.get_app_config(label).get_models()
        if model is not DailyDemand
    ]
    expected = {f"{m._meta.app_label}.view_{m._meta.model_name}" for m in models}
    assert len(expected) == 16
    assert expected <= group_permission_names(STAFF_GROUP)


@pytest.mark.parametrize(
    "permission",
    [
        "suppliers.add_shipment",
        "orders.add_release",
        "orders.add_salesorder",
        "orders.add_customer",
        "orders.ship_salesorder",
        "orders.cancel_salesorder",
        "inventory.adjust_stock",
        "inventory.transfer_stock",
        "inventory.set_safety_stock",
    ],
)
def test_staff_and_managers_can_do_warehouse_work(staff_user, manager_user, permission):
    assert staff_user.has_perm(permission)
    assert manager_user.has_perm(permission)


@pytest.mark.parametrize(
    "permission",
    [
        "inventory.view_reorder_dashboard",
        "suppliers.add_purchaseorder",
        "suppliers.change_purchaseorder",
        "suppliers.send_purchaseorder",
        "suppliers.cancel_purchaseorder",
        "suppliers.add_supplier",
        "suppliers.change_supplierproduct",
        "inventory.add_product",
        "inventory.change_product",
    ],
)
def test_only_managers_can_buy_and_see_the_reorder_dashboard(staff_user, manager_user, permission):
    assert not staff_user.has_perm(permission)
    assert manager_user.has_perm(permission)


@pytest.mark.parametrize(
    "permission",
    ["inventory.change_stocklevel", "inventory.delete_stockmovement", "orders.change_allocation"],
)
def test_no_role_edits_stock_rows_directly(staff_user, manager_user, permission):
    assert not staff_user.has_perm(permission)
    assert not manager_user.has_perm(permission)


def test_roles_ensure_is_idempotent():
    before = {name: group_permission_names(name) for name in (STAFF_GROUP, MANAGER_GROUP)}

    roles_ensure()
    roles_ensure()

    assert Group.objects.filter(name__in=[STAFF_GROUP, MANAGER_GROUP]).count() == 2
    assert {name: group_permission_names(name) for name in before} == before


def test_roles_ensure_removes_permissions_granted_by_hand():
    staff = Group.objects.get(name=STAFF_GROUP)
    staff.permissions.add(Permission.objects.get(codename="delete_product"))

    roles_ensure()

    assert group_permission_names(STAFF_GROUP) == WAREHOUSE_STAFF_PERMISSIONS


def test_roles_ensure_recreates_a_deleted_group():
    Group.objects.filter(name=MANAGER_GROUP).delete()

    roles_ensure()

    assert group_permission_names(MANAGER_GROUP) == MANAGER_PERMISSIONS


@pytest.mark.django_db(transaction=True)
def test_groups_come_back_after_a_flush():
    # Transactional tests flush the database between tests; post_migrate then runs without the
    # migration-state `apps`, and the next test must still find both roles.
    call_command("flush", interactive=False, verbosity=0)

    assert group_permission_names(STAFF_GROUP) == WAREHOUSE_STAFF_PERMISSIONS
    assert group_permission_names(MANAGER_GROUP) == MANAGER_PERMISSIONS


# --- demo_accounts --------------------------------------------------------------------------------


def test_demo_accounts_creates_one_login_per_role(settings, capsys):
    settings.DEBUG = True

    call_command("demo_accounts")

    staff = authenticate_at_sign_in(username="staff", password="staff-demo-1")
    manager = authenticate_at_sign_in(username="manager", password="manager-demo-1")
    admin = authenticate_at_sign_in(username="admin", password="admin-demo-1")
    assert [g.name for g in staff.groups.all()] == [STAFF_GROUP]
    assert [g.name for g in manager.groups.all()] == [MANAGER_GROUP]
    assert admin.is_superuser
    assert admin.is_staff
    assert not staff.is_staff
    assert not manager.is_staff
    out = capsys.readouterr().out
    assert "manager   Managers" in out
    assert "admin-demo-1" in out


def test_demo_accounts_twice_resets_passwords_without_duplicates(settings):
    settings.DEBUG = True
    call_command("demo_accounts", stdout=None)
    staff = get_user_model().objects.get(username="staff")
    staff.set_password("something-else-9")
    staff.is_superuser = True
    staff.save()

    call_command("demo_accounts")

    assert get_user_model().objects.count() == 3
    staff = authenticate_at_sign_in(username="staff", password="staff-demo-1")
    assert staff is not None
    assert not staff.is_superuser


def test_demo_accounts_refuses_when_debug_is_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("demo_accounts")

    assert not get_user_model().objects.exists()


def test_demo_accounts_runs_with_debug_off_when_forced(settings):
    settings.DEBUG = False

    call_command("demo_accounts", "--force")

    assert authenticate_at_sign_in(username="manager", password="manager-demo-1") is not None
