"""Create or reset the demo logins: one per role, with well-known passwords."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from backoffice.roles import MANAGER_GROUP, STAFF_GROUP, roles_ensure

ADMIN_ROLE = "Admin (superuser)"

# (username, password, role); the role is a group name, or ADMIN_ROLE for a superuser.
DEMO_ACCOUNTS = (
    ("staff", "staff-demo-1", STAFF_GROUP),
    ("manager", "manager-demo-1", MANAGER_GROUP),
    ("admin", "admin-demo-1", ADMIN_ROLE),
)


class Command(BaseCommand):
    help = (
        "Create the demo accounts (staff, manager, admin), resetting their passwords and roles. "
        "Development only: refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off. The passwords are public; never use on real data.",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo accounts with well-known passwords while DEBUG is off. "
                "Set DJANGO_DEBUG=1 for a development database, or pass --force if you really "
                "mean it."
            )

        with transaction.atomic():
            groups = roles_ensure()
            for username, password, role in DEMO_ACCOUNTS:
                self._account_reset(username, password, role, groups)

        rows = [("username", "role", "password"), *((u, r, p) for u, p, r in DEMO_ACCOUNTS)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
        self.stdout.write(self.style.SUCCESS(f"{len(DEMO_ACCOUNTS)} demo accounts ready."))

    def _account_reset(self, username: str, password: str, role: str, groups: dict[str, Group]):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username)
        is_admin = role == ADMIN_ROLE
        user.email = user.email or f"{username}@backstock.example"
        user.is_active = True
        user.is_staff = is_admin
        user.is_superuser = is_admin
        user.set_password(password)
        user.save()
        user.groups.set([] if is_admin else [groups[role]])
