from django.apps import AppConfig


class PlanningConfig(AppConfig):
    """Reorder planning over the other apps' data; no models of its own."""

    name = "planning"
