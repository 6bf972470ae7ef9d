from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Shared building blocks; no models."""

    name = "common"
