from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self):
        from inventory.roles import roles_after_migrate

        # Sent once per migrate (and after a test flush) for this app; the receiver builds the
        # role groups for all three apps at once.
        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="inventory.roles")
