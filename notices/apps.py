from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = "催报与消息"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the report status signal)
