from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    name = "renewals"
    label = "renewals"
    verbose_name = "Contracts, renewals and revenue"

    def ready(self):
        # The contract-lines format of the CSV import (accounts/imports/kinds.py).
        from .imports import register

        register()
