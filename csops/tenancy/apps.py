import os
import sys

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "csops.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .rls import on_post_migrate

        post_migrate.connect(on_post_migrate, dispatch_uid="csops_rls_policies")
        # Only the dev server's serving process (not the autoreloader parent, tests or other commands).
        if "runserver" in sys.argv and (os.environ.get("RUN_MAIN") == "true" or "--noreload" in sys.argv):
            from csops.embedded import start_if_embedded

            start_if_embedded()
