from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    label = "reporting"
    verbose_name = "Dashboards, reports and weekly emails"

    def ready(self):
        # Demo phases, registered after health's: the dashboards, then the emails (they read the aggregates).
        from . import demo_dashboards, demo_emails  # noqa: F401
