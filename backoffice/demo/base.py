"""The rows every block shares: the three warehouses and the team named on the history."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from backoffice.demo.catalogue import TEAM, WAREHOUSES
from inventory.models import Warehouse


def warehouses_create() -> dict[str, Warehouse]:
    return {code: Warehouse.objects.create(code=code, name=name) for code, name in WAREHOUSES}


def team_ensure() -> dict[str, AbstractBaseUser]:
    """The demo's warehouse team, by username. They appear as "who" on the records and cannot log
    in (no usable password); the demo logins come from `manage.py demo_accounts`."""
    user_model = get_user_model()
    users = {}
    for username, first, last, _ in TEAM:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@backstock.example",
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users[username] = user
    return users
