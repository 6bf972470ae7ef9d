from django.apps import AppConfig


class SuppliersConfig(AppConfig):
    name = "suppliers"

    def ready(self):
        # Fills inventory's product page slot (common.slots); imported here because the panel
        # reads models, which are not ready while the app registry loads.
        from suppliers import panels  # noqa: F401
