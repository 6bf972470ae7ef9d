from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        # Fills inventory's product page and history slots (common.slots); imported here because
        # the panels read models, which are not ready while the app registry loads.
        from orders import panels  # noqa: F401
