from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"
    verbose_name = "双公示信息公示"

    def ready(self):
        from . import checks, receivers  # noqa: F401  (registers the settings check, connects the report status signal)
