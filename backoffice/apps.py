from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackofficeConfig(AppConfig):
    """The top of the house: home page, roles, integrity checks and the demo."""

    name = "backoffice"

    def ready(self):
        # Imported here: roles reads the auth models, which are not ready at module import.
        from backoffice.roles import roles_after_migrate

        # Sent once per migrate (and after a test flush) for this app, which migrates last; the
        # receiver builds the role groups for every app at once.
        post_migrate.connect(roles_after_migrate, sender=self, dispatch_uid="backoffice.roles")
