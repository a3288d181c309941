from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
    label = "health"
    verbose_name = "Health scores"

    def ready(self):
        from . import (
            alert_tasks,  # noqa: F401 -- registers the Slack delivery tasks (autodiscovery: tasks.py only)
            signals,  # noqa: F401 -- connects the new-organization default model
        )
