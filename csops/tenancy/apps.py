import os
import sys

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "csops.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        # Only the dev server's serving process (not the autoreloader parent, tests or other commands).
        if "runserver" in sys.argv and os.environ.get("RUN_MAIN") == "true":
            from csops.embedded import start_if_embedded

            start_if_embedded()
