from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customer accounts"

    def ready(self):
        from .imports.signal_import import register_signal_import_kinds

        register_signal_import_kinds()  # usage, surveys and tickets CSV formats of the import flow
