from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "csops.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
