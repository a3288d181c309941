from django.apps import AppConfig


class RenewalsConfig(AppConfig):
    name = "renewals"
    label = "renewals"
    verbose_name = "Contracts, renewals and revenue"
