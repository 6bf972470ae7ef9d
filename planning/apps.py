from django.apps import AppConfig


class PlanningConfig(AppConfig):
    """Reorder planning over the other apps' data, with its stored plan (`planning.models`)."""

    name = "planning"

    def ready(self):
        # Keeps the stored plan current from the lower apps' signals; imported here because the
        # receivers name models, which are not ready while the app registry loads.
        from planning import receivers

        receivers.connect()
