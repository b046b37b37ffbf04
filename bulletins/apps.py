import logging

from django.apps import AppConfig


class BulletinsConfig(AppConfig):
    name = "bulletins"
    verbose_name = "工作简报"

    def ready(self):
        # WeasyPrint reports every step of every PDF at INFO; the portal's log wants only its warnings.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
